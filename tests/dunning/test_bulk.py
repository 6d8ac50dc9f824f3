"""The run's writes: COPY on PostgreSQL writes exactly what the ORM writes."""

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django_fsm_log.models import StateLog

from customers.models import Customer
from dunning import bulk
from dunning.models import Case, CaseStep
from dunning.run import _message_key, run_dunning
from messaging.models import Message, MessageItem
from payments.models import InterestRegime, LedgerEntry
from personalisation.models import Decision
from rules.services import rule_set_activate
from tests.dunning.conftest import make_debtors

DAYS = [date(2025, 3, 1), date(2025, 3, 20), date(2025, 4, 10)]
NOW = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def portfolio(creditor, make_invoice, make_rule_set, make_rule):
    """Thirty debtors, a third of them businesses under the statutory regime
    (interest and the flat compensation), rules that waive, skip and hold."""
    creditor.business_interest_regime = InterestRegime.objects.get(code="de-bgb-288")
    creditor.save()
    make_debtors(
        creditor, make_invoice, count=30, prefix="B", base=90, step=11, phones=True
    )
    rule_set = make_rule_set()
    make_rule(rule_set, "Waive", [("customer_open_total", "lt", "150")], waive_fee=True)
    make_rule(
        rule_set,
        "Skip the reminder",
        [("customer_kind", "eq", "business"), ("step_action", "eq", "reminder")],
        skip_step=True,
    )
    make_rule(
        rule_set,
        "Review the oldest",
        [("days_overdue", "gt", "80")],
        hold_for_review=True,
        priority=200,
    )
    rule_set_activate(rule_set_id=rule_set.pk, actor="user:test")


def _fields(row: dict, *drop: str) -> tuple:
    for name in ("id", "created_at", "updated_at", "taken_at", "timestamp", *drop):
        row.pop(name, None)
    return tuple(sorted(row.items()))


def snapshot() -> dict:
    """Every row the run writes, with the ids of rows it wrote replaced by
    what they stand for (a case by its claim, a case step by claim and step)."""
    cases = dict(Case.objects.values_list("id", "invoice_id"))
    raw_steps = {
        row["id"]: SimpleNamespace(**row)
        for row in CaseStep.objects.values("id", "case_id", "step_id")
    }
    steps = {pk: (cases[cs.case_id], cs.step_id) for pk, cs in raw_steps.items()}
    raw_decisions = {row["id"]: row for row in Decision.objects.values()}
    decisions = {pk: _fields(dict(row)) for pk, row in raw_decisions.items()}
    by_message = defaultdict(list)
    for item in MessageItem.objects.values("message_id", "case_step_id"):
        by_message[item["message_id"]].append(item["case_step_id"])

    messages = []
    for row in Message.objects.values():
        own = by_message[row["id"]]
        # The key is the decision's channel and the message's case steps.
        channel = raw_decisions[row["decision_id"]]["channel"]
        assert row["idempotency_key"] == _message_key(
            channel, [raw_steps[pk] for pk in own]
        )
        row["idempotency_key"] = sorted(steps[pk] for pk in own)
        row["decision_id"] = decisions[row["decision_id"]]
        row["run_id"] = row["run_id"] is not None
        messages.append(_fields(row))

    def rows(model, queryset=None, **natural):
        found = []
        for row in (model.objects if queryset is None else queryset).values():
            for name, mapping in natural.items():
                row[name] = mapping(row[name])
            found.append(_fields(row))
        return sorted(found, key=repr)

    def has_run(run_id):
        return run_id is not None

    return {
        "cases": rows(Case),
        "case_steps": rows(CaseStep, case_id=cases.get, run_id=has_run),
        "decisions": sorted(decisions.values(), key=repr),
        "messages": sorted(messages, key=repr),
        # An item's message is compared through the message's own case steps.
        "items": rows(MessageItem, case_step_id=steps.get, message_id=has_run),
        "ledger": rows(LedgerEntry, case_step_id=lambda pk: pk and steps[pk]),
        "state_log": rows(
            StateLog,
            StateLog.objects.filter(
                content_type=ContentType.objects.get_for_model(Case)
            ),
            object_id=lambda pk: cases[int(pk)],
        ),
    }


class _Rollback(Exception):
    pass


def run_days() -> dict:
    """The run over DAYS; what it wrote, rolled back afterwards."""
    try:
        with transaction.atomic():
            for day in DAYS:
                run_dunning(actor="test", run_date=day, plan_only=True, now=NOW)
            result = snapshot()
            raise _Rollback
    except _Rollback:
        return result


@pytest.mark.django_db
def test_copy_writes_the_same_rows_as_the_orm(portfolio, monkeypatch):
    """Cases, steps, fees, interest, decisions, messages, items and the state
    log come out the same through COPY as through bulk_create."""
    if connection.vendor != "postgresql":
        pytest.skip("COPY is the PostgreSQL path; elsewhere the ORM writes")

    copied = run_days()
    monkeypatch.setattr(
        bulk, "_copy_rows", lambda model, rows, ids: bulk._create_rows(model, rows)
    )
    created = run_days()

    assert copied == created
    # The portfolio reached every kind of row.
    assert len(copied["messages"]) > 20 and copied["items"]
    ledger = [dict(row) for row in copied["ledger"]]
    assert {"fee", "interest"} <= {row["kind"] for row in ledger}
    assert any(row["reason"].startswith("flat compensation") for row in ledger)
    transitions = {dict(row)["transition"] for row in copied["state_log"]}
    assert transitions == {"start", "pause"}
    assert any(dict(row)["fee"] == Decimal("0.00") for row in copied["case_steps"])


@pytest.mark.django_db
def test_insert_rows_fills_defaults_and_returns_ids_in_order(alice, creditor):
    """A field a row leaves out gets its default or NULL; the ids are those
    of the rows as given, on SQLite and on PostgreSQL."""
    rows = [
        {
            "customer_id": alice.pk,
            "action": "reminder",
            "tone": tone,
            "language": "de",
            "policy": "test",
            "scores": {"n": n},
        }
        for n, tone in enumerate(["friendly", "neutral", "firm"])
    ]

    ids = bulk.insert_rows(Decision, rows)

    saved = {d.pk: d for d in Decision.objects.filter(pk__in=ids)}
    assert [saved[pk].tone for pk in ids] == ["friendly", "neutral", "firm"]
    assert [saved[pk].scores for pk in ids] == [{"n": 0}, {"n": 1}, {"n": 2}]
    first = saved[ids[0]]
    assert first.variant == "a" and first.payment_options == []
    assert first.reasons == {} and first.channel == "" and first.send_at is None
    assert first.created_at is not None
    assert bulk.insert_rows(Decision, []) == []


@pytest.mark.django_db
def test_insert_rows_refuses_a_duplicate_key_as_an_integrity_error(alice, creditor):
    decision = Decision.objects.create(
        customer=alice, action="reminder", tone="neutral", language="de", policy="t"
    )
    Message.objects.create(
        creditor=creditor,
        customer=alice,
        channel="email",
        idempotency_key="once",
        decision=decision,
        action_date=date(2025, 3, 1),
        scheduled_at=NOW,
        language="de",
        tone="neutral",
    )
    other = Decision.objects.create(
        customer=alice, action="reminder", tone="neutral", language="de", policy="t"
    )
    row = {
        "creditor_id": creditor.pk,
        "customer_id": alice.pk,
        "channel": "email",
        "idempotency_key": "once",
        "decision_id": other.pk,
        "action_date": date(2025, 3, 1),
        "scheduled_at": NOW,
        "language": "de",
        "tone": "neutral",
    }

    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.insert_rows(Message, [row])

    assert Message.objects.filter(idempotency_key="once").count() == 1


def test_insert_rows_refuses_a_field_the_model_lacks(db):
    if connection.vendor != "postgresql":
        pytest.skip("the ORM refuses it itself, with its own TypeError")
    with pytest.raises(ValueError, match="no fields"):
        bulk.insert_rows(Decision, [{"colour": "red"}])


@pytest.mark.django_db
def test_rows_without_ids_are_numbered_by_the_table(alice, creditor):
    """Rows nothing points at go in without asking for ids."""
    content_type = ContentType.objects.get_for_model(Customer)
    rows = [
        {
            "by_id": None,
            "source_state": "open",
            "state": "in_dunning",
            "transition": "start",
            "content_type_id": content_type.pk,
            "object_id": str(alice.pk),
            "description": f"row {n}",
        }
        for n in range(3)
    ]

    assert bulk.insert_rows(StateLog, rows, ids=False) == []

    logged = StateLog.objects.filter(content_type=content_type).order_by("id")
    assert [row.description for row in logged] == ["row 0", "row 1", "row 2"]
    assert all(row.timestamp is not None for row in logged)
