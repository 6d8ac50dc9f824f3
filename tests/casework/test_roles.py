"""Roles: managers configure, clerks work cases, auditors only read."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.urls import NoReverseMatch, reverse

from audit.models import TRACKED
from audit.roles import AUDITOR, CLERK, MANAGER, sync_roles
from dunning.models import Case, Plan
from tests.admin.test_dunning_admin import plan_form

pytestmark = pytest.mark.django_db


def codes(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }


def test_the_migration_creates_the_three_roles():
    manager, clerk, auditor = codes(MANAGER), codes(CLERK), codes(AUDITOR)

    assert {"dunning.change_plan", "dunning.add_step", "dunning.work_case"} <= manager
    assert {"customers.change_creditor", "payments.change_interestregime"} <= manager
    assert {"payments.view_invoice", "dunning.work_case"} <= clerk
    assert not {c for c in clerk if c.split(".")[1].startswith(("add", "change"))}
    assert {"dunning.view_case", "audit.view_historicalplan"} <= auditor
    assert all(c.split(".")[1].startswith("view_") for c in auditor)


def test_a_model_added_later_is_covered_by_sync_roles():
    """A new rules model's permissions go to managers and auditors, not clerks."""
    content_type = ContentType.objects.create(app_label="rules", model="dunningrule")
    for action in ["add", "change", "delete", "view"]:
        Permission.objects.create(
            content_type=content_type,
            codename=f"{action}_dunningrule",
            name=f"Can {action} dunning rule",
        )

    sync_roles()

    assert "rules.change_dunningrule" in codes(MANAGER)
    assert codes(AUDITOR) & {"rules.view_dunningrule", "rules.change_dunningrule"} == {
        "rules.view_dunningrule"
    }
    assert not {c for c in codes(CLERK) if c.startswith("rules.")}


def test_a_clerk_cannot_edit_a_plan(login, clerk):
    client = login(clerk)
    plan = Plan.objects.get(name="Standard")
    url = reverse("admin:dunning_plan_change", args=[plan.pk])

    page = client.get(url)
    refused = client.post(url, plan_form(name="Lenient"))

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert refused.status_code == 403
    assert Plan.objects.get(pk=plan.pk).name == "Standard"
    assert (
        client.post(reverse("admin:dunning_plan_add"), plan_form()).status_code == 403
    )


def test_a_clerk_can_pause_a_case(login, clerk, case, today):
    client = login(clerk)
    until = today + timedelta(days=14)

    response = client.post(
        reverse("admin:dunning_case_work", args=[case.pk, "pause"]),
        {"until": until.isoformat(), "reason": "in hospital"},
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.state, case.paused_until) == (Case.State.PAUSED, until)


def _admin_urls(model, obj_id):
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    urls = [reverse(f"{name}_add")]
    if obj_id is not None:
        urls += [
            reverse(f"{name}_change", args=[obj_id]),
            reverse(f"{name}_delete", args=[obj_id]),
        ]
    return urls


def test_an_auditor_can_change_nothing(login, auditor, case, manager):
    """Every add, change and delete POST of every admin page is refused."""
    client = login(auditor)
    # One row of configuration history too.
    login(manager).post(
        reverse("admin:dunning_plan_change", args=[case.plan_id]),
        {"name": "Standard"},
    )
    client = login(auditor)
    refused = []
    for model in admin.site._registry:
        obj = model._default_manager.order_by("pk").first()
        try:
            urls = _admin_urls(model, obj.pk if obj else None)
        except NoReverseMatch:
            continue
        for url in urls:
            refused.append((url, client.post(url, {"name": "x"}).status_code))

    assert len(refused) > 30
    assert {status for _, status in refused} == {403}, refused
    work = reverse("admin:dunning_case_work", args=[case.pk, "pause"])
    assert client.post(work, {"until": "2099-01-01", "reason": "x"}).status_code == 403
    assert Case.objects.get(pk=case.pk).state == Case.State.IN_DUNNING


def test_an_auditor_sees_the_case_but_no_transition_buttons(login, auditor, case):
    page = login(auditor).get(reverse("admin:dunning_case_change", args=[case.pk]))

    assert page.status_code == 200
    assert page.context["case_work"] == []
    assert "case-work" not in page.content.decode()


def test_an_auditor_cannot_run_a_bulk_action(login, auditor, case):
    response = login(auditor).post(
        reverse("admin:dunning_case_changelist"),
        {"action": "resume_cases", "_selected_action": [case.pk], "index": "0"},
    )

    assert response.status_code in (200, 302)
    assert Case.objects.get(pk=case.pk).state == Case.State.IN_DUNNING
    page = login(auditor).get(reverse("admin:dunning_case_changelist"))
    assert "pause_cases" not in page.content.decode()


def test_a_plan_change_is_in_the_history_with_who_and_before_and_after(login, manager):
    client = login(manager)
    client.post(reverse("admin:dunning_plan_add"), plan_form({}, name="Gentle"))
    plan = Plan.objects.get(name="Gentle")
    step = plan.steps.get()
    data = plan_form({"id": str(step.pk), "plan": str(plan.pk)}, name="Gentle 2026")
    data["steps-INITIAL_FORMS"] = "1"

    response = client.post(reverse("admin:dunning_plan_change", args=[plan.pk]), data)

    assert response.status_code == 302
    created, changed = plan.history.order_by("history_id")
    assert (created.history_user, created.history_type) == (manager, "+")
    assert (changed.history_user, changed.history_type) == (manager, "~")
    assert changed.history_date >= created.history_date
    delta = changed.diff_against(changed.prev_record)
    assert [(c.field, c.old, c.new) for c in delta.changes] == [
        ("name", "Gentle", "Gentle 2026")
    ]
    # The inline saved its step again: a record of who saved it, with no change.
    step_saved = step.history.order_by("-history_id").first()
    assert step_saved.history_user == manager
    assert step_saved.diff_against(step_saved.prev_record).changes == []
    # The auditor reads the same on the history page.
    page = client.get(
        reverse("admin:audit_historicalplan_change", args=[changed.history_id])
    )
    assert "<td>Gentle</td><td>Gentle 2026</td>" in page.content.decode()


def test_rows_older_than_the_history_have_a_baseline(login, manager):
    """The seeded plan's first change still shows what it was before."""
    plan = Plan.objects.get(name="Standard")
    baseline = plan.history.get()

    plan.description = "Changed by hand"
    plan.save()

    latest = plan.history.order_by("-history_id").first()
    assert latest.prev_record == baseline
    delta = latest.diff_against(baseline)
    assert [(c.field, c.new) for c in delta.changes] == [
        ("description", "Changed by hand")
    ]


def test_every_configuration_model_has_a_history():
    from customers.models import Creditor
    from dunning.models import Step

    assert {Plan, Step, Creditor} <= set(TRACKED)
    assert all(hasattr(model, "history") for model in TRACKED)


def test_a_clerk_cannot_edit_or_add_rules(login, clerk, make_rule_set, make_rule):
    from rules.models import Rule, RuleSet

    rule_set = make_rule_set()
    rule = make_rule(rule_set, "Big claims by letter", [("claim_amount", "gt", "5000")])
    client = login(clerk)

    edit = client.post(
        reverse("admin:rules_rule_change", args=[rule.pk]), {"name": "Softer"}
    )
    add = client.post(reverse("admin:rules_ruleset_add"), {"name": "Clerk's own"})

    assert edit.status_code == 403
    assert add.status_code == 403
    assert Rule.objects.get(pk=rule.pk).name == "Big claims by letter"
    assert list(RuleSet.objects.values_list("name", flat=True)) == [rule_set.name]
