"""Plans: step timing, step order checks and versions that keep running cases."""

from datetime import date

import pytest
from django.urls import reverse

from customers.models import Creditor
from dunning.models import Case, CaseStep, Plan, Step
from dunning.plans import StepRow, step_order_errors
from dunning.run import run_dunning
from messaging.models import MessageTemplate
from rules.models import Rule, RuleSet
from tests.admin.helpers import plan_change_data

pytestmark = pytest.mark.django_db


def run(on):
    return run_dunning(actor="test", run_date=on)


def row(position, days, counts_from="due", name=None):
    return StepRow(position, name or f"Step {position}", days, counts_from)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [row(1, 3), row(2, 14), row(4, 28)],
            "position 3 is missing",
        ),
        (
            [row(1, 3), row(1, 14, name="Notice")],
            "Two steps have position 1 ('Step 1' and 'Notice')",
        ),
        (
            [row(1, 3), row(2, 14), row(3, 10, name="Final")],
            "Step 3 ('Final') comes 10 days after the due date, not later than "
            "step 2 ('Step 2', day 14)",
        ),
        (
            [row(1, 5, counts_from="previous")],
            "Step 1 ('Step 1') has no previous step to count from",
        ),
        (
            [row(1, 3), row(2, 0, counts_from="previous")],
            "must wait at least 1 day",
        ),
        (
            # 3, then 3 + 20 = 23: a step on day 20 after it comes too early.
            [row(1, 3), row(2, 20, counts_from="previous"), row(3, 20)],
            "not later than step 2 ('Step 2', day 23)",
        ),
    ],
)
def test_a_bad_step_order_is_refused_with_what_to_fix(rows, expected):
    errors = step_order_errors(rows)

    assert any(expected in error for error in errors), errors


def test_a_sound_step_order_passes():
    rows = [row(1, -3), row(2, 7), row(3, 10, counts_from="previous"), row(4, 30)]

    assert step_order_errors(rows) == []


def test_the_plan_admin_refuses_a_step_order_with_a_gap(admin_client):
    plan = Plan.objects.get(name="Standard")
    url = reverse("admin:dunning_plan_change", args=[plan.pk])

    response = admin_client.post(url, plan_change_data(plan, {4: {"position": 5}}))

    assert response.status_code == 200
    assert "position 4 is missing" in response.content.decode()
    assert sorted(plan.steps.values_list("position", flat=True)) == [1, 2, 3, 4]


def test_a_plan_nobody_follows_is_edited_in_place(admin_client):
    plan = Plan.objects.get(name="Standard")
    url = reverse("admin:dunning_plan_change", args=[plan.pk])

    response = admin_client.post(url, plan_change_data(plan, {2: {"fee": "3.00"}}))

    assert response.status_code == 302
    assert Plan.objects.count() == 1
    assert str(plan.steps.get(position=2).fee) == "3.000000"


@pytest.fixture
def running_case(alice, make_invoice):
    """A case on the Standard plan that has taken its first step."""
    invoice = make_invoice(alice, "100.00", due_on=date(2025, 1, 2))
    run(date(2025, 1, 6))
    return Case.objects.get(invoice=invoice)


def test_changing_the_steps_of_a_plan_in_use_saves_a_new_version(
    admin_client, running_case, creditor
):
    old = running_case.plan
    creditor.default_plan = old
    creditor.save()
    rule_set = RuleSet.objects.create(name="Live", status=RuleSet.Status.ACTIVE)
    rule = Rule.objects.create(rule_set=rule_set, priority=1, name="All", plan=old)
    template = MessageTemplate.objects.filter(action="notice").first()
    template.pk = None
    template.step = old.steps.get(position=2)
    template.variant = "step-two"
    template.save()
    url = reverse("admin:dunning_plan_change", args=[old.pk])

    response = admin_client.post(
        url, plan_change_data(old, {2: {"fee": "4.00", "name": "Notice"}}), follow=True
    )

    new = Plan.objects.get(replaces=old)
    assert response.redirect_chain[-1][0] == reverse(
        "admin:dunning_plan_change", args=[new.pk]
    )
    assert "saved as version 2" in response.content.decode()
    assert "1 running case(s) stay on version 1" in response.content.decode()
    old.refresh_from_db()
    assert (old.version, old.is_default, old.replaced_by) == (1, False, new)
    assert (new.version, new.is_default, new.name) == (2, True, "Standard")
    # The old version's steps are untouched; the new one has the change.
    assert old.steps.get(position=2).name == "First notice"
    assert str(old.steps.get(position=2).fee) == "2.500000"
    assert new.steps.get(position=2).name == "Notice"
    assert str(new.steps.get(position=2).fee) == "4.000000"
    assert new.steps.count() == 4
    # The case, its history and the configuration that points at "the plan".
    running_case.refresh_from_db()
    assert running_case.plan == old
    assert running_case.current_step.plan == old
    assert Creditor.objects.get(pk=creditor.pk).default_plan == new
    assert Rule.objects.get(pk=rule.pk).plan == new
    assert MessageTemplate.objects.filter(variant="step-two").count() == 2
    assert MessageTemplate.objects.filter(variant="step-two", step__plan=new).exists()


def test_the_case_keeps_its_version_and_new_cases_take_the_new_one(
    admin_client, running_case, alice, make_invoice
):
    old = running_case.plan
    admin_client.post(
        reverse("admin:dunning_plan_change", args=[old.pk]),
        plan_change_data(old, {2: {"fee": "4.00"}}),
    )
    new = Plan.objects.get(replaces=old)
    later = make_invoice(alice, "50.00", due_on=date(2025, 1, 10))

    run(date(2025, 1, 20))

    taken = CaseStep.objects.filter(case=running_case, step__position=2).get()
    assert taken.step.plan == old
    assert str(taken.fee) == "2.500000"
    assert Case.objects.get(invoice=later).plan == new


def test_the_case_page_says_which_version_the_case_follows(admin_client, running_case):
    old = running_case.plan
    admin_client.post(
        reverse("admin:dunning_plan_change", args=[old.pk]),
        plan_change_data(old, {3: {"days": 30}}),
    )

    page = admin_client.get(
        reverse("admin:dunning_case_change", args=[running_case.pk])
    ).content.decode()

    assert "version 1 (replaced by version 2 for new cases)" in page


def test_a_replaced_version_cannot_be_changed(admin_client, running_case):
    old = running_case.plan
    url = reverse("admin:dunning_plan_change", args=[old.pk])
    admin_client.post(url, plan_change_data(old, {3: {"days": 30}}))
    old.refresh_from_db()

    response = admin_client.post(url, plan_change_data(old, {3: {"days": 35}}))

    assert response.status_code == 403
    assert old.steps.get(position=3).days == 28
    assert Plan.objects.count() == 2


def test_a_step_counted_from_the_previous_step(alice, make_invoice):
    """Step 2 waits its days after step 1 was taken, whatever the due date."""
    plan = Plan.objects.get(name="Standard")
    plan.steps.filter(position=2).update(days=5, counts_from="previous")
    make_invoice(alice, due_on=date(2025, 1, 2))
    run(date(2025, 2, 1))  # very late: the reminder goes out on 1 February

    assert run(date(2025, 2, 5))["steps_taken"] == {}
    assert run(date(2025, 2, 6))["steps_taken"] == {"2:First notice": 1}
    # Step 3 counts from the due date: 28 days nominal, 28 - (3 + 5) = 20 days
    # after step 2 at the earliest.
    assert run(date(2025, 2, 25))["steps_taken"] == {}
    assert run(date(2025, 2, 26))["steps_taken"] == {"3:Second notice": 1}


def test_step_offsets_follow_the_counting():
    plan = Plan.objects.get(name="Standard")
    plan.steps.filter(position=2).update(days=5, counts_from="previous")

    offsets = {step.position: step.offset for step in Step.objects.filter(plan=plan)}

    assert offsets == {1: 3, 2: 8, 3: 28, 4: 42}
