"""Failure-rate alerts: a jump against the baseline opens one, noise does not."""

import logging
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django_q.models import Schedule

from audit.roles import CLERK, MANAGER
from delivery.models import ChannelAlert, Delivery
from delivery.services import alerts_check
from messaging.models import Message
from personalisation.models import Decision

from .conftest import NOW

pytestmark = pytest.mark.django_db


def deliveries(customer, *, count, failed, hours_ago, channel="sms"):
    """`count` messages sent `hours_ago`, the first `failed` of them failed."""
    sent_at = NOW - timedelta(hours=hours_ago)
    for index in range(count):
        decision = Decision.objects.create(
            customer=customer, tone="neutral", language="en", policy="test"
        )
        message = Message.objects.create(
            creditor=customer.creditor,
            customer=customer,
            channel=channel,
            idempotency_key=uuid.uuid4().hex,
            decision=decision,
            action_date=sent_at.date(),
            scheduled_at=sent_at,
            sent_at=sent_at,
            status=Message.Status.SENT,
            language="en",
            tone="neutral",
        )
        Delivery.objects.create(
            message=message,
            creditor=customer.creditor,
            channel=channel,
            provider="twilio",
            provider_message_id=uuid.uuid4().hex,
            sent_at=sent_at,
            failed_at=sent_at if index < failed else None,
        )


def test_a_jump_opens_one_alert_and_logs_a_warning(alice, caplog):
    """8 of 25 failed today (32 %) against 2 of 100 in the week before (2 %)."""
    deliveries(alice, count=100, failed=2, hours_ago=72)
    deliveries(alice, count=25, failed=8, hours_ago=2)

    with caplog.at_level(logging.WARNING, logger="delivery.services"):
        opened = alerts_check(now=NOW)

    assert len(opened) == 1
    alert = opened[0]
    assert (alert.channel, alert.window_messages, alert.window_failures) == (
        "sms",
        25,
        8,
    )
    assert str(alert.window_rate) == "0.3200"
    assert str(alert.baseline_rate) == "0.0200"
    assert "failure rate 32.00% of 25 messages" in caplog.text
    assert "alice" not in caplog.text.lower()


def test_an_open_alert_is_not_repeated(alice):
    deliveries(alice, count=25, failed=8, hours_ago=2)

    alerts_check(now=NOW)
    again = alerts_check(now=NOW + timedelta(hours=1))

    assert again == []
    assert ChannelAlert.objects.count() == 1


def test_too_few_messages_are_noise(alice):
    """5 of 10 failed, but 10 messages are below the minimum of 20."""
    deliveries(alice, count=10, failed=5, hours_ago=2)

    assert alerts_check(now=NOW) == []


def test_a_channel_that_always_fails_this_much_is_no_jump(alice):
    """15 % today against 12 % in the week before is not three times worse."""
    deliveries(alice, count=100, failed=12, hours_ago=48)
    deliveries(alice, count=40, failed=6, hours_ago=3)

    assert alerts_check(now=NOW) == []


def test_a_low_rate_is_no_jump_even_against_a_clean_baseline(alice):
    """2 of 40 (5 %) is below the 10 % floor although the baseline is 0 %."""
    deliveries(alice, count=100, failed=0, hours_ago=48)
    deliveries(alice, count=40, failed=2, hours_ago=3)

    assert alerts_check(now=NOW) == []


def test_channels_are_judged_apart(alice):
    deliveries(alice, count=25, failed=8, hours_ago=2, channel="sms")
    deliveries(alice, count=25, failed=0, hours_ago=2, channel="email")

    assert [a.channel for a in alerts_check(now=NOW)] == ["sms"]


def staff(username: str, role: str) -> User:
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_a_manager_acknowledges_alerts_in_the_admin(client, alice):
    """After acknowledging, a new jump may open a new alert."""
    deliveries(alice, count=25, failed=8, hours_ago=2)
    alert = alerts_check(now=NOW)[0]
    manager = staff("mona", MANAGER)
    client.force_login(manager)
    url = reverse("admin:delivery_channelalert_changelist")

    page = client.get(url + "?state=open")
    response = client.post(
        url, {"action": "acknowledge", "_selected_action": [alert.pk]}, follow=True
    )

    assert page.status_code == 200 and "32.00%" in page.content.decode()
    assert "1 alerts acknowledged." in response.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_by == manager
    assert len(alerts_check(now=NOW + timedelta(hours=1))) == 1


def test_a_clerk_sees_alerts_but_cannot_acknowledge(client, alice):
    deliveries(alice, count=25, failed=8, hours_ago=2)
    alert = alerts_check(now=NOW)[0]
    client.force_login(staff("carl", CLERK))
    url = reverse("admin:delivery_channelalert_changelist")

    assert client.get(url).status_code == 200
    client.post(url, {"action": "acknowledge", "_selected_action": [alert.pk]})

    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_the_check_runs_as_a_named_schedule():
    schedule = Schedule.objects.get(name="delivery-failure-alerts")

    assert schedule.func == "delivery.tasks.alerts_check"
    assert (schedule.schedule_type, schedule.minutes) == ("I", 60)
