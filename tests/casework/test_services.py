"""Case work: each transition only from valid states, logged with who and why."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django_fsm_log.models import StateLog

from dunning import services
from dunning.models import Case, Promise
from payments.models import Invoice, LedgerEntry
from payments.services import payment_record

pytestmark = pytest.mark.django_db


def last_log(case) -> StateLog:
    return StateLog.objects.for_(case).order_by("-id").first()


def test_a_pause_names_the_clerk_and_the_reason(case, clerk, today):
    until = today + timedelta(days=10)

    services.case_pause(case_id=case.pk, until=until, actor=clerk, reason="holiday")

    case.refresh_from_db()
    assert (case.state, case.paused_until) == (Case.State.PAUSED, until)
    log = last_log(case)
    assert (log.by, log.source_state, log.state) == (clerk, "in_dunning", "paused")
    assert log.description == f"paused until {until}: holiday"


def test_a_pause_needs_a_reason_and_a_future_end(case, clerk, today):
    with pytest.raises(services.CaseWorkError, match="needs a reason"):
        services.case_pause(
            case_id=case.pk, until=today + timedelta(days=3), actor=clerk, reason=" "
        )
    with pytest.raises(services.CaseWorkError, match="after today"):
        services.case_pause(case_id=case.pk, until=today, actor=clerk, reason="x")

    case.refresh_from_db()
    assert case.state == Case.State.IN_DUNNING
    assert last_log(case) is None


def test_a_closed_case_cannot_be_paused(cases, clerk, today):
    (closed,) = cases(1, state="closed_paid")

    with pytest.raises(services.CaseWorkError, match="closed: paid"):
        services.case_pause(
            case_id=closed.pk, until=today + timedelta(days=3), actor=clerk, reason="x"
        )

    closed.refresh_from_db()
    assert closed.state == Case.State.CLOSED_PAID


def test_resuming_clears_the_pause(case, clerk, today):
    services.case_pause(
        case_id=case.pk, until=today + timedelta(days=5), actor=clerk, reason="call"
    )

    services.case_resume(case_id=case.pk, actor=clerk, reason="debtor called back")

    case.refresh_from_db()
    assert (case.state, case.paused_until) == (Case.State.IN_DUNNING, None)
    assert last_log(case).description == "resumed: debtor called back"


def test_a_promise_to_pay_pauses_until_the_promised_date(case, clerk, today):
    promised_on = today + timedelta(days=7)

    promise = services.case_promise(
        case_id=case.pk, promised_on=promised_on, amount=Decimal("50"), actor=clerk
    )

    case.refresh_from_db()
    assert (case.state, case.paused_until) == (Case.State.PAUSED, promised_on)
    assert (promise.amount, promise.currency, promise.open_amount) == (
        Decimal("50.00"),
        "EUR",
        Decimal("120.00"),
    )
    assert promise.actor == f"user:{clerk.pk}"
    assert last_log(case).description == f"promise to pay €50.00 by {promised_on}"


def test_a_promise_above_the_open_amount_is_refused(case, clerk, today):
    with pytest.raises(services.CaseWorkError, match="more than the open €120.00"):
        services.case_promise(
            case_id=case.pk,
            promised_on=today + timedelta(days=7),
            amount=Decimal("120.01"),
            actor=clerk,
        )

    assert not Promise.objects.exists()
    case.refresh_from_db()
    assert case.state == Case.State.IN_DUNNING


def test_a_dispute_is_marked_and_resolved(case, clerk):
    services.case_dispute(case_id=case.pk, reason="goods damaged", actor=clerk)
    case.refresh_from_db()
    assert case.state == Case.State.DISPUTED

    services.case_resolve_dispute(case_id=case.pk, reason="photos show", actor=clerk)

    case.refresh_from_db()
    assert case.state == Case.State.IN_DUNNING
    assert [log.transition for log in StateLog.objects.for_(case).order_by("id")] == [
        "dispute",
        "resolve_dispute",
    ]


def test_only_a_disputed_case_can_be_resolved(case, clerk):
    with pytest.raises(services.CaseWorkError, match="in dunning: it cannot be"):
        services.case_resolve_dispute(case_id=case.pk, reason="x", actor=clerk)


def test_a_write_off_books_the_open_amount_and_closes_the_case(case, manager):
    services.case_write_off(case_id=case.pk, reason="debtor insolvent", actor=manager)

    case.refresh_from_db()
    assert case.state == Case.State.CLOSED_WRITTEN_OFF
    assert case.closed_at is not None
    invoice = Invoice.objects.get(pk=case.invoice_id)
    assert (invoice.status, invoice.open_amount) == ("written_off", Decimal("0"))
    row = LedgerEntry.objects.get(invoice=invoice, kind="write_off")
    assert (row.amount, row.actor, row.reason) == (
        Decimal("-120.00"),
        f"user:{manager.pk}",
        "debtor insolvent",
    )
    # One state change, by the user, not a second one by the ledger service.
    logs = StateLog.objects.for_(case)
    assert [(log.transition, log.by) for log in logs] == [("write_off", manager)]


def test_a_handover_is_only_for_a_case_in_dunning(cases, clerk):
    in_dunning, open_case = cases(1)[0], cases(1, state="open")[0]

    services.case_hand_over(case_id=in_dunning.pk, reason="agency X", actor=clerk)
    with pytest.raises(services.CaseWorkError):
        services.case_hand_over(case_id=open_case.pk, reason="agency X", actor=clerk)

    assert Case.objects.get(pk=in_dunning.pk).state == Case.State.HANDED_OVER
    assert Case.objects.get(pk=open_case.pk).state == Case.State.OPEN


def test_bulk_work_counts_changed_and_skipped_cases(cases, clerk):
    ids = [c.pk for c in cases(3)] + [c.pk for c in cases(2, state="disputed")]

    changed, skipped = services.cases_work(
        case_ids=ids, work="hand_over", actor=clerk, reason="agency X"
    )

    assert (changed, skipped) == (3, 2)
    assert Case.objects.filter(state="handed_over").count() == 3


def test_paused_cases_resume_the_day_after_the_pause_ends(cases, clerk, today):
    ending, later = cases(2)
    for case, days in [(ending, 1), (later, 5)]:
        services.case_pause(
            case_id=case.pk, until=today + timedelta(days=days), actor=clerk, reason="x"
        )

    on_last_day = services.cases_resume_due(
        on=today + timedelta(days=1), actor="system:run"
    )
    day_after = services.cases_resume_due(
        on=today + timedelta(days=2), actor="system:run"
    )

    assert on_last_day["resumed"] == 0
    assert day_after["resumed"] == 1
    assert Case.objects.get(pk=ending.pk).state == Case.State.IN_DUNNING
    assert Case.objects.get(pk=later.pk).state == Case.State.PAUSED
    log = last_log(ending)
    assert log.by is None
    assert log.description == f"pause ended ({today + timedelta(days=1)}) (system:run)"


def test_an_unpaid_promise_breaks_and_the_case_resumes(case, clerk, today):
    promised_on = today + timedelta(days=3)
    promise = services.case_promise(
        case_id=case.pk, promised_on=promised_on, amount=Decimal("120"), actor=clerk
    )

    result = services.cases_resume_due(
        on=promised_on + timedelta(days=1), actor="system:run"
    )

    assert result == {"promises_kept": 0, "promises_broken": 1, "resumed": 1}
    promise.refresh_from_db()
    assert (promise.status, promise.resolved_on) == (
        "broken",
        promised_on + timedelta(days=1),
    )
    assert Case.objects.get(pk=case.pk).state == Case.State.IN_DUNNING
    assert last_log(case).description.startswith("promise to pay broken")


def test_a_promise_paid_in_part_as_promised_is_kept(case, claim, alice, clerk, today):
    promised_on = today + timedelta(days=3)
    promise = services.case_promise(
        case_id=case.pk, promised_on=promised_on, amount=Decimal("50"), actor=clerk
    )
    payment_record(
        customer=alice,
        amount=Decimal("50"),
        currency="EUR",
        received_on=today,
        invoice=claim,
        actor="test",
    )

    result = services.cases_resume_due(
        on=promised_on + timedelta(days=1), actor="system:run"
    )

    promise.refresh_from_db()
    assert promise.status == "kept"
    # The pause is over: the rest of the claim goes on in dunning.
    assert result["resumed"] == 1


def test_a_second_promise_waits_for_the_first(case, clerk, today):
    services.case_promise(
        case_id=case.pk,
        promised_on=today + timedelta(days=3),
        amount=Decimal("10"),
        actor=clerk,
    )
    services.case_resume(case_id=case.pk, actor=clerk)

    with pytest.raises(services.CaseWorkError, match="already has a promise"):
        services.case_promise(
            case_id=case.pk,
            promised_on=today + timedelta(days=9),
            amount=Decimal("10"),
            actor=clerk,
        )
