"""Triage of a reply: matching, intent, proposal; and a clerk's confirmation."""

from datetime import timedelta
from decimal import Decimal

import pytest

from dunning.models import Case, Promise
from messaging.models import Message
from replies.models import Reply
from replies.services import ReplyError, reply_confirm, reply_dismiss, reply_receive
from tests.admin.helpers import open_case, send_message, take_step

from .helpers import inbound

pytestmark = pytest.mark.django_db

PAID = {
    "de": "Hallo,\n\ndie Rechnung R-2025-0042 habe ich bereits am 03.03. überwiesen. "
    "Bitte prüfen Sie Ihren Zahlungseingang.\n\nMit freundlichen Grüßen\nAlice Ahrens",
    "en": "Hello,\n\nI already paid invoice R-2025-0042 by bank transfer on 3 March. "
    "Please check again.\n\nKind regards\nAlice",
}


@pytest.mark.parametrize("language", ["de", "en"])
def test_a_reply_saying_it_was_paid_proposes_the_pause(case, today, language):
    """A known customer says the claim in dunning is paid: pause it for checking."""
    reply, created = reply_receive(inbound=inbound(PAID[language]))

    assert created
    assert reply.status == Reply.Status.PROPOSED
    assert reply.intent == Reply.Intent.ALREADY_PAID
    assert reply.confidence >= 0.6
    assert reply.customer == case.customer
    assert list(reply.cases.all()) == [case]
    assert reply.proposed_action == Reply.Action.PAUSE
    assert reply.pause_until == today + timedelta(days=14)
    assert "claims named: R-2025-0042" in reply.match_notes
    assert reply.classifier_version.startswith("tfidf-svm-1/")
    assert "Grüßen" not in reply.cleaned_text and "regards" not in reply.cleaned_text


@pytest.mark.parametrize("language", ["de", "en"])
def test_confirming_the_proposal_pauses_the_case(case, clerk, today, language):
    reply, _ = reply_receive(inbound=inbound(PAID[language]))

    reply = reply_confirm(reply_id=reply.pk, actor=clerk)

    case.refresh_from_db()
    assert case.state == Case.State.PAUSED
    assert case.paused_until == today + timedelta(days=14)
    assert reply.status == Reply.Status.CONFIRMED
    assert reply.decided_by == clerk
    assert reply.outcome == f"paused case(s) {case.pk} until {case.paused_until} " + (
        f"(user:{clerk.pk})"
    )


def test_an_unsure_reply_lands_in_the_queue(case, settings):
    """Below the confidence threshold nothing is proposed: a clerk reads it."""
    settings.REPLIES_CONFIDENCE_THRESHOLD = 0.995

    reply, _ = reply_receive(inbound=inbound(PAID["en"]))

    assert reply.status == Reply.Status.QUEUED
    assert reply.proposed_action == Reply.Action.NONE
    assert reply.queue_reason.startswith("unsure: 0.")
    assert list(reply.cases.all()) == [case]


def test_a_vague_reply_lands_in_the_queue(case):
    reply, _ = reply_receive(inbound=inbound("Interesting weather today."))

    assert reply.status == Reply.Status.QUEUED
    assert reply.proposed_action == Reply.Action.NONE


def test_an_unknown_sender_without_a_claim_number_is_queued(case):
    reply, _ = reply_receive(
        inbound=inbound("I already paid this last week.", sender="x@elsewhere.example")
    )

    assert reply.customer is None
    assert reply.status == Reply.Status.QUEUED
    assert "no customer matches" in reply.queue_reason


def test_a_claim_number_finds_the_customer_of_an_unknown_sender(case):
    """The debtor's accountant writes from another address, naming the claim."""
    reply, _ = reply_receive(
        inbound=inbound(
            "We paid R-2025-0042 yesterday, please check.",
            sender="ap@accountants.example",
        )
    )

    assert reply.customer == case.customer
    assert list(reply.cases.all()) == [case]
    assert reply.status == Reply.Status.PROPOSED


def test_a_reply_to_our_message_is_matched_by_its_message_id(
    case, alice, make_invoice, today
):
    """In-Reply-To naming the message's idempotency key finds it and its claims."""
    message = send_message(take_step(case, 1, case.opened_on))
    key = "ab" * 32
    Message.objects.filter(pk=message.pk).update(idempotency_key=key)
    other = open_case(make_invoice(alice, due_on=today - timedelta(days=30)))

    reply, _ = reply_receive(
        inbound=inbound(
            "Already paid, see attached.",
            sender="someone@else.example",
            in_reply_to=f"<{key}@acme.example>",
        )
    )

    assert reply.replied_to == message
    assert reply.customer == alice
    assert list(reply.cases.all()) == [case]
    assert other not in reply.cases.all()


def test_a_dispute_is_proposed_and_confirmed(case, clerk):
    reply, _ = reply_receive(
        inbound=inbound(
            "I dispute invoice R-2025-0042. The goods arrived damaged and I sent "
            "them back."
        )
    )
    assert reply.proposed_action == Reply.Action.DISPUTE
    assert reply.status == Reply.Status.PROPOSED

    reply_confirm(reply_id=reply.pk, actor=clerk, reason="goods returned")

    assert Case.objects.get(pk=case.pk).state == Case.State.DISPUTED


def test_a_promise_with_date_and_amount_is_recorded(case, clerk, today):
    promised_on = today + timedelta(days=10)
    reply, _ = reply_receive(
        inbound=inbound(
            f"I will pay 100.00 EUR on {promised_on:%d.%m.%Y}, sorry for the delay."
        )
    )
    assert reply.intent == Reply.Intent.PROMISE_TO_PAY
    assert reply.status == Reply.Status.PROPOSED
    assert (reply.promised_on, reply.promised_amount) == (promised_on, Decimal("100"))

    reply_confirm(reply_id=reply.pk, actor=clerk)

    promise = Promise.objects.get(case=case)
    assert (promise.promised_on, promise.amount) == (promised_on, Decimal("100"))
    assert Case.objects.get(pk=case.pk).state == Case.State.PAUSED
    # The amount as stored (six decimals) reads as money in the outcome.
    assert Reply.objects.get(pk=reply.pk).outcome.startswith(
        f"promise to pay €100.00 by {promised_on} on case {case.pk}"
    )


def test_a_promise_without_a_date_waits_for_the_clerk(case, clerk):
    reply, _ = reply_receive(inbound=inbound("I will pay the invoice soon, promise."))
    assert reply.proposed_action == Reply.Action.PROMISE
    assert reply.promised_on is None

    with pytest.raises(ReplyError, match="needs a date and an amount"):
        reply_confirm(reply_id=reply.pk, actor=clerk)

    assert Reply.objects.get(pk=reply.pk).status == Reply.Status.PROPOSED


def test_a_hardship_request_proposes_a_pause_from_the_queue(case):
    reply, _ = reply_receive(
        inbound=inbound(
            "Ich habe meinen Job verloren. Kann ich die Rechnung in Raten zahlen?"
        )
    )

    assert reply.intent == Reply.Intent.HARDSHIP
    assert reply.status == Reply.Status.QUEUED
    assert reply.proposed_action == Reply.Action.PAUSE
    assert reply.queue_reason.startswith("hardship")


def test_a_redelivered_reply_is_stored_once(case):
    first = inbound(PAID["de"])

    reply, created = reply_receive(inbound=first)
    again, created_again = reply_receive(inbound=first)

    assert (created, created_again) == (True, False)
    assert again.pk == reply.pk
    assert Reply.objects.count() == 1


def test_a_decided_reply_cannot_be_confirmed_again(case, clerk):
    reply, _ = reply_receive(inbound=inbound(PAID["en"]))
    reply_dismiss(reply_id=reply.pk, actor=clerk, note="paid into the wrong account")

    with pytest.raises(ReplyError, match="already Dismissed"):
        reply_confirm(reply_id=reply.pk, actor=clerk)

    assert Case.objects.get(pk=case.pk).state == Case.State.IN_DUNNING


def test_a_case_that_changed_state_meanwhile_is_left_out(case, clerk):
    """The claim was paid after the proposal: the pause has nothing left to do."""
    reply, _ = reply_receive(inbound=inbound(PAID["en"]))
    Case.objects.filter(pk=case.pk).update(state=Case.State.CLOSED_PAID)

    with pytest.raises(ReplyError, match="No case of this reply allows"):
        reply_confirm(reply_id=reply.pk, actor=clerk)
