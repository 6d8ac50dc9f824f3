"""The admin: entering a rule in rows, refusing a bad one, explain and dry-run."""

from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command
from django.urls import reverse

from payments.models import Invoice
from rules.models import Rule

pytestmark = pytest.mark.django_db


def rule_form(rule_set, conditions, **effects) -> dict:
    data = {
        "rule_set": rule_set.pk,
        "priority": "10",
        "name": "Big business: final notice by letter, firm",
        "enabled": "on",
        "description": "",
        "plan": "",
        "tone": "",
        "tone_cap": "",
        "preferred_channel": "",
        "conditions-TOTAL_FORMS": str(len(conditions)),
        "conditions-INITIAL_FORMS": "0",
        "conditions-MIN_NUM_FORMS": "0",
        "conditions-MAX_NUM_FORMS": "1000",
    }
    for index, (attribute, operator, value) in enumerate(conditions):
        data[f"conditions-{index}-group"] = "1"
        data[f"conditions-{index}-attribute"] = attribute
        data[f"conditions-{index}-operator"] = operator
        data[f"conditions-{index}-value"] = value
    data.update(effects)
    return data


def test_a_manager_enters_a_rule_as_rows_and_fields(admin_client, make_rule_set):
    """No JSON: condition rows and effect check boxes are enough."""
    rule_set = make_rule_set()
    data = rule_form(
        rule_set,
        [
            ("customer_kind", "eq", "business"),
            ("customer_open_total", "gt", "5000"),
            ("step_action", "eq", "final_notice"),
        ],
        channels=["letter"],
        tone="firm",
    )

    response = admin_client.post(reverse("admin:rules_rule_add"), data)

    assert response.status_code == 302, response.context["errors"]
    rule = Rule.objects.get()
    assert rule.channels == ["letter"]
    assert rule.tone == "firm"
    assert [str(c) for c in rule.conditions.all()] == [
        "Customer kind = business",
        "Customer's open total (in the claim's currency) > 5000",
        "Step due (action) = final_notice",
    ]


def test_a_rule_whose_conditions_cannot_match_is_refused(admin_client, make_rule_set):
    """amount > 5000 AND amount < 100: nothing is saved, the page says what to fix."""
    rule_set = make_rule_set()
    data = rule_form(
        rule_set,
        [("claim_amount", "gt", "5000"), ("claim_amount", "lt", "100")],
        tone="firm",
    )

    response = admin_client.post(reverse("admin:rules_rule_add"), data)

    assert response.status_code == 200
    assert Rule.objects.count() == 0
    page = response.content.decode()
    assert "No value satisfies" in page
    assert "Widen one bound, or put the rows in different groups" in page


def test_a_bad_row_is_refused_at_its_row(admin_client, make_rule_set):
    rule_set = make_rule_set()
    data = rule_form(rule_set, [("customer_kind", "gt", "business")], tone="firm")

    response = admin_client.post(reverse("admin:rules_rule_add"), data)

    assert response.status_code == 200
    assert "does not apply to a choice attribute" in response.content.decode()
    assert Rule.objects.count() == 0


def test_rules_of_an_active_set_cannot_be_changed(
    admin_client, make_rule_set, make_rule
):
    from rules.services import rule_set_activate

    rule_set = make_rule_set()
    rule = make_rule(rule_set, "x", [("days_overdue", "gt", "3")], tone="firm")
    rule_set_activate(rule_set_id=rule_set.pk, actor="user:test")
    url = reverse("admin:rules_rule_change", args=[rule.pk])

    data = rule_form(rule_set, [("days_overdue", "gt", "3")], tone="neutral")
    admin_client.post(url, data)

    rule.refresh_from_db()
    assert rule.tone == "firm"


@pytest.fixture
def ibm_portfolio(ibm_file):
    call_command(
        "import_portfolio", str(ibm_file), "--format", "ibm-ar", "--as-of", "2013-06-30"
    )


def test_the_explain_view_renders_for_a_real_claim(
    admin_client, ibm_portfolio, make_rule_set, make_rule
):
    """Matched rule, plan, next step and date, channel, tone and payment options."""
    from rules.services import rule_set_activate

    rule_set = make_rule_set()
    make_rule(
        rule_set,
        "Overdue businesses by letter",
        [("customer_kind", "eq", "business"), ("days_overdue", "gt", "3")],
        channels=["letter"],
        tone="firm",
        payment_options=["bank_transfer"],
    )
    make_rule(rule_set, "Never", [("customer_kind", "eq", "consumer")], tone="neutral")
    rule_set_activate(rule_set_id=rule_set.pk, actor="user:test")
    invoice = (
        Invoice.objects.filter(status="open", due_on__lt=date(2013, 7, 5))
        .order_by("due_on")
        .first()
    )

    change = admin_client.get(
        reverse("admin:payments_invoice_change", args=[invoice.pk])
    )
    url = reverse("admin:rules_explain_claim", args=[invoice.pk])
    response = admin_client.get(url, {"on": "2013-07-15"})

    assert url in change.content.decode()
    assert response.status_code == 200
    page = response.content.decode()
    assert invoice.number in page
    assert "Overdue businesses by letter" in page
    assert "customer kind is consumer" not in page
    assert "customer kind is business, = consumer does not hold" in page
    plan = response.context["plans"][0]
    assert plan.plan.name == "Standard"
    assert plan.treatment == "step"
    assert plan.decision.channel == "letter"
    assert plan.decision.tone == "firm"
    assert plan.decision.payment_options == ["bank_transfer"]
    assert '<td class="rules-channel">letter' in page
    # The step's date is the day asked about, not "today".
    assert '<td class="rules-date">2013-07-15 (the evaluated day)</td>' in page
    # The send time reads in the debtor's own zone.
    zone = invoice.customer.zone
    local = plan.decision.send_at.astimezone(zone)
    assert f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({zone.key})" in page


def test_the_explain_view_for_a_customer_and_a_draft(
    admin_client, ibm_portfolio, make_rule_set, make_rule
):
    """A draft is previewed on a customer's claims without being activated."""
    draft = make_rule_set()
    make_rule(draft, "Preview", [("days_overdue", "gt", "0")], tone="firm")
    invoice = Invoice.objects.filter(status="open").order_by("due_on").first()
    url = reverse("admin:rules_explain_customer", args=[invoice.customer_id])

    response = admin_client.get(url, {"on": "2013-07-15", "rule_set": draft.pk})

    assert response.status_code == 200
    assert "draft" in response.content.decode()
    plans = response.context["plans"]
    assert {p.invoice.customer_id for p in plans} == {invoice.customer_id}
    assert any(p.outcome and p.outcome.rule.name == "Preview" for p in plans)
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_the_dry_run_page_and_activation_button(
    admin_client, ibm_portfolio, make_rule_set, make_rule
):
    draft = make_rule_set()
    make_rule(
        draft,
        "Firm after a week",
        [("days_overdue", "gt", "7")],
        tone="firm",
    )
    url = reverse("admin:rules_ruleset_dry_run", args=[draft.pk])

    response = admin_client.get(url, {"on": "2013-07-15", "against": "none"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Claims whose treatment would change" in page
    assert response.context["result"].changed
    activate = reverse("admin:rules_ruleset_activate", args=[draft.pk])
    assert activate in page

    admin_client.post(activate)

    draft.refresh_from_db()
    assert draft.status == "active"
    assert draft.activated_by.startswith("user:")


def test_the_rule_set_and_rule_pages_load(admin_client, make_rule_set, make_rule):
    """The set lists its rules with links to add one and to the dry-run."""
    rule_set = make_rule_set()
    rule = make_rule(rule_set, "Firm", [("days_overdue", "gt", "30")], tone="firm")

    page = admin_client.get(
        reverse("admin:rules_ruleset_change", args=[rule_set.pk])
    ).content.decode()
    add = admin_client.get(reverse("admin:rules_rule_add"), {"rule_set": rule_set.pk})
    listing = admin_client.get(reverse("admin:rules_rule_changelist"))

    assert reverse("admin:rules_rule_change", args=[rule.pk]) in page
    assert "Days overdue &gt; 30" in page
    assert reverse("admin:rules_ruleset_dry_run", args=[rule_set.pk]) in page
    assert add.status_code == 200
    assert 'name="conditions-0-attribute"' in add.content.decode()
    assert listing.status_code == 200


def test_explaining_a_customer_without_open_claims_names_the_day(
    client, manager, alice, monkeypatch
):
    """The creditor's today (Berlin is past midnight at 23:30 UTC), with no claim
    to take it from."""
    monkeypatch.setattr(
        "django.utils.timezone.now", lambda: datetime(2025, 3, 10, 23, 30, tzinfo=UTC)
    )
    client.force_login(manager)

    response = client.get(reverse("admin:rules_explain_customer", args=[alice.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Evaluated on 2025-03-11 with the active rules" in page
    assert 'name="on" value="2025-03-11"' in page
    assert "No open claim." in page


def test_the_explain_view_shows_amounts_in_the_claims_currency(
    client, manager, alice, make_invoice
):
    """Yen have no minor unit; the open balance shows none."""
    invoice = make_invoice(
        alice, amount="2500", currency="JPY", due_on=date(2025, 3, 3)
    )
    client.force_login(manager)

    response = client.get(
        reverse("admin:rules_explain_claim", args=[invoice.pk]), {"on": "2025-03-20"}
    )

    page = response.content.decode()
    assert "Evaluated on 2025-03-20" in page
    assert '<th scope="row">Open balance</th><td>¥2,500</td>' in page
    assert "2500.00" not in page
