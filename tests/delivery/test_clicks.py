"""The debtor following the message's personal link is recorded as a click."""

import re

import pytest

from portal.services import link_create

pytestmark = pytest.mark.django_db


def link_in_outbox(outbox) -> str:
    text = "".join(p.read_text() for p in (outbox / "email").glob("*.log"))
    links = set(re.findall(r"http://testserver(/p/[\w-]+/)", text))
    assert len(links) == 1, links
    return links.pop()


def test_opening_the_link_records_one_click(client, sent_email, outbox):
    """Reloading the page is not a second click."""
    path = link_in_outbox(outbox)

    assert client.get(path).status_code == 200
    assert client.get(path).status_code == 200

    clicks = sent_email.delivery_events.filter(kind="clicked")
    assert clicks.count() == 1
    assert clicks.get().provider == "portal"


def test_a_link_checkers_head_request_is_no_click(client, sent_email, outbox):
    assert client.head(link_in_outbox(outbox)).status_code == 200

    assert not sent_email.delivery_events.filter(kind="clicked").exists()


def test_a_link_made_outside_a_message_records_nothing(client, alice):
    from delivery.models import DeliveryEvent

    _link, token = link_create(customer=alice)

    assert client.get(f"/p/{token}/").status_code == 200
    assert not DeliveryEvent.objects.exists()
