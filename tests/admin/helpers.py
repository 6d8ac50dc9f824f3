"""Cases, steps and messages built directly, as the dunning run would leave them."""

import json
from datetime import UTC, date, datetime

from dunning.models import Case, CaseStep, Plan
from messaging.models import Message, MessageItem
from personalisation.models import Decision


def open_case(invoice, *, state="in_dunning", opened_on=date(2025, 3, 4)) -> Case:
    return Case.objects.create(
        invoice=invoice,
        customer=invoice.customer,
        creditor=invoice.creditor,
        plan=Plan.objects.get(name="Standard"),
        state=state,
        opened_on=opened_on,
    )


def take_step(case, position: int, taken_on: date) -> CaseStep:
    step = case.plan.steps.get(position=position)
    case_step = CaseStep.objects.create(
        case=case,
        step=step,
        taken_on=taken_on,
        fee=step.fee,
        open_amount=case.invoice.open_amount,
        actor="test",
    )
    Case.objects.filter(pk=case.pk).update(current_step=step, last_step_on=taken_on)
    return case_step


def send_message(case_step, *, channel="email", status="sent", at=None) -> Message:
    """A message carrying one case step, with the decision behind it."""
    invoice = case_step.case.invoice
    at = at or datetime.combine(case_step.taken_on, datetime.min.time(), UTC).replace(
        hour=8
    )
    decision = Decision.objects.create(
        customer=invoice.customer,
        action=case_step.step.action,
        channel=channel,
        send_at=at,
        tone="neutral",
        language="en",
        payment_options=["bank_transfer", "card"],
        reasons={"channel": "reads e-mail within a day"},
        scores={"email": 0.71, "letter": 0.2},
        policy="rules",
        model_version="rules-1",
    )
    message = Message.objects.create(
        creditor=invoice.creditor,
        customer=invoice.customer,
        channel=channel,
        idempotency_key=f"test-{case_step.pk}",
        status=status,
        decision=decision,
        action_date=case_step.taken_on,
        scheduled_at=at,
        sent_at=at if status == "sent" else None,
        recipient=invoice.customer.email,
        language="en",
        tone="neutral",
        subject="Reminder",
        body="<p>Please pay</p>",
    )
    MessageItem.objects.create(
        message=message,
        case_step=case_step,
        invoice=invoice,
        level=case_step.step.position,
        action=case_step.step.action,
        open_amount=invoice.open_amount,
        currency=invoice.currency,
    )
    return message


def assert_bounded_changelist(client, url, add, assert_max_num_queries, most=15):
    """The list page with 50 rows asks no more queries than with 5.

    `add(n)` creates n more rows; `assert_max_num_queries` is pytest-django's
    `django_assert_max_num_queries` fixture.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # A first request fills caches (content types, session) that later ones reuse.
    client.get(url)
    add(5)
    with CaptureQueriesContext(connection) as five:
        response = client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 5
    assert len(five) <= most

    add(45)
    with assert_max_num_queries(len(five)):
        response = client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 50
    # Every row is on the page: nothing was hidden to keep the count down.
    assert len(response.context["cl"].result_list) == 50


def plan_change_data(plan, changes=None, extra_steps=()):
    """The plan change form as the admin posts it, with step fields changed.

    `changes` maps a step's position to the fields to post differently.
    """
    steps = list(plan.steps.order_by("position"))
    data = {
        "name": plan.name,
        "description": plan.description,
        "creditor": plan.creditor_id or "",
        "steps-TOTAL_FORMS": str(len(steps) + len(extra_steps)),
        "steps-INITIAL_FORMS": str(len(steps)),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    if plan.is_default:
        data["is_default"] = "on"
    forms = []
    for step in steps:
        values = {
            "id": step.pk,
            "plan": plan.pk,
            "position": step.position,
            "name": step.name,
            "action": step.action,
            "days": step.days,
            "counts_from": step.counts_from,
            "channels": json.dumps(step.channels),
            "fee": step.fee,
            "fee_kind": step.fee_kind,
            "fee_percent": step.fee_percent,
            "fee_minimum": step.fee_minimum or "",
            "fee_maximum": step.fee_maximum or "",
            "tone_floor": step.tone_floor,
            "minimum_amount": step.minimum_amount,
            "payment_days": step.payment_days,
            # An unticked box is posted as nothing.
            "attach_letter": "on" if step.attach_letter else "",
            "attach_invoices": "on" if step.attach_invoices else "",
        }
        values.update((changes or {}).get(step.position, {}))
        forms.append(values)
    forms += list(extra_steps)
    for n, values in enumerate(forms):
        data.update({f"steps-{n}-{key}": value for key, value in values.items()})
    return data


def assert_no_raw_amounts(html: str) -> None:
    """No amount on the page shows the database column's six decimals."""
    import re

    # The admin's icon sprite has path coordinates of six decimals, and times
    # their microseconds (":43.397678"): neither is an amount.
    text = re.sub(r"<svg.*?</svg>", "", html, flags=re.DOTALL)
    raw = re.findall(r"(?<![\d:.])\d+\.\d{6}(?!\d)", text)
    assert not raw, f"raw amounts on the page: {raw}"


def change_form_data(response) -> dict:
    """What the admin change page would post back unchanged, inlines included."""

    def fields_of(form) -> dict:
        data = {}
        for name in form.fields:
            value = form[name].value()
            if value is True:
                data[form.add_prefix(name)] = "on"
            elif value is not None and value is not False:
                data[form.add_prefix(name)] = (
                    json.dumps(value) if isinstance(value, (dict, list)) else value
                )
        return data

    data = fields_of(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(fields_of(formset.management_form))
        for form in formset.initial_forms:
            data.update(fields_of(form))
    return data
