"""A dunning manager adds a rule in the admin, previews it, activates it, in Chromium.

"Business customers with more than 5,000 open get the final notice by letter in
a firm tone", on the IBM portfolio as it stood on 2013-06-30 plus one large
business debtor: the IBM customers are businesses, but none owes more than a
few hundred dollars.
"""

import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from dunning.models import Case
from messaging.models import Message
from tests.portal import test_browser as portal_browser

# The browser as the portal's browser test starts it.
chromium = portal_browser.chromium

ON = date(2013, 7, 15)
CREDITOR = "IBM AR sample"
RULE = "Large business debts: final notice by letter"
PASSWORD = "a long manager passphrase"

pytestmark = [
    pytest.mark.browser,
    # The live server runs in another thread: the test's data must be committed.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def ibm_portfolio(transactional_db, ibm_file):
    call_command(
        "import_portfolio", str(ibm_file), "--format", "ibm-ar", "--as-of", "2013-06-30"
    )


@pytest.fixture
def hallett(ibm_portfolio):
    """A business customer of the IBM creditor with 6,230.50 USD open in two claims.

    Neither claim is above 5,000 on its own; the customer's open total is.
    """
    from customers.models import Creditor, Customer
    from payments.services import invoice_create

    creditor = Creditor.objects.get(name=CREDITOR)
    customer = Customer.objects.create(
        creditor=creditor,
        external_id="C-HALLETT",
        kind=Customer.Kind.BUSINESS,
        name="Hallett Industrial Supply Inc.",
        email="payables@hallett.example",
        street="1200 Commerce Drive",
        postcode="08536",
        city="Plainsboro",
        country="US",
        language="en",
        time_zone="America/New_York",
        customer_since=date(2009, 4, 1),
        preferred_channel="email",
    )
    for number, amount, issued_on, due_on in [
        ("HIS-2013-0412", "3250.00", date(2013, 5, 15), date(2013, 6, 14)),
        ("HIS-2013-0451", "2980.50", date(2013, 5, 22), date(2013, 6, 21)),
    ]:
        invoice_create(
            creditor=creditor,
            customer=customer,
            external_id=number,
            number=number,
            currency="USD",
            amount=Decimal(amount),
            issued_on=issued_on,
            due_on=due_on,
            actor="test",
        )
    return customer


@pytest.fixture
def final_notice_plan(standard_plan):
    """The plan a manager set up for large debts: the final notice comes first."""
    from dunning.models import Plan, Step

    plan = Plan.objects.create(
        name="Large business debts",
        description="Straight to the final notice, by letter.",
    )
    Step.objects.create(
        plan=plan,
        position=1,
        name="Final notice",
        action=Step.Action.FINAL_NOTICE,
        days=14,
        channels=["letter"],
        tone_floor="firm",
        payment_days=10,
    )
    return plan


@pytest.fixture
def maria(transactional_db):
    """A dunning manager: staff, with exactly the role's permissions."""
    from django.contrib.auth.models import Group, User

    from audit.roles import MANAGER

    user = User.objects.create_user(
        "maria", "maria@acme.example", PASSWORD, is_staff=True
    )
    user.groups.add(Group.objects.get(name=MANAGER))
    return user


def log_in(page, base_url):
    page.goto(f"{base_url}/admin/login/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/admin/")


def add_rule_set(page):
    page.get_by_role("link", name="Rule sets", exact=True).click()
    page.get_by_role("link", name="Add rule set", exact=True).click()
    page.get_by_label("Name").fill("Large debts")
    # The creditor is an autocomplete (select2) field.
    page.locator(".field-creditor .select2-selection").click()
    page.locator(".select2-search__field").fill("IBM")
    page.locator(".select2-results__option", has_text=CREDITOR).click()
    page.get_by_role("button", name="Save and continue editing").click()
    page.get_by_role("link", name="Add rule", exact=True).click()


def fill_rule(page):
    page.get_by_label("Priority").fill("10")
    page.get_by_label("Name").fill(RULE)
    rows = [
        ("customer_kind", "eq", "business"),
        ("customer_open_total", "gt", "5000"),
    ]
    for index, (attribute, operator, value) in enumerate(rows):
        prefix = f"#id_conditions-{index}"
        page.locator(f"{prefix}-attribute").select_option(attribute)
        page.locator(f"{prefix}-operator").select_option(operator)
        page.locator(f"{prefix}-value").fill(value)
    page.locator("#id_plan").select_option(label="Large business debts")
    page.locator("#id_tone").select_option("firm")
    page.locator(".field-channels").get_by_label("Letter").check()
    page.get_by_role("button", name="Save", exact=True).click()


def explain(page, claim, rules):
    """The claim's 'What would happen now?' on the run's day with these rules."""
    page.locator("select[name=rule_set]").select_option(label=rules)
    page.locator("input[name=on]").fill(ON.isoformat())
    page.get_by_role("button", name="Explain").click()
    return page.locator(f"fieldset[data-claim='{claim}']")


def test_a_manager_adds_previews_and_activates_a_rule_the_run_follows(
    live_server,
    chromium,
    hallett,
    final_notice_plan,
    maria,
):
    """The rule matches Hallett's claims only; the run then sends the final notice.

    Without the rule Hallett's claims would get the Standard plan's friendly
    reminder by e-mail; the IBM customers (businesses with less open) keep it.
    """
    from rules.models import RuleSet

    page = chromium.new_context(locale="en-US").new_page()
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    base = live_server.url

    log_in(page, base)
    add_rule_set(page)
    fill_rule(page)

    # Back on the rule set, the rule reads as the manager meant it.
    rules = page.locator("#rules-group").inner_text()
    assert "Customer kind = business" in rules
    assert "> 5000" in rules
    draft = RuleSet.objects.get(name="Large debts")
    assert draft.status == "draft"
    assert draft.creditor.name == CREDITOR

    # Preview on a real claim: its explain page, first with the active rules.
    page.goto(f"{base}/admin/")
    page.get_by_role("link", name="Invoices", exact=True).click()
    page.locator("#searchbar").fill("HIS-2013-0412")
    page.get_by_role("button", name="Search").click()
    page.locator("#result_list").get_by_role("link", name="HIS-2013-0412").click()
    page.get_by_role("link", name="What would happen now?").click()
    claim = explain(page, "HIS-2013-0412", "the active rules")
    assert claim.locator(".rules-plan").inner_text() == "Standard"
    assert claim.locator(".rules-step").inner_text().startswith("#1 Friendly reminder")
    assert claim.locator(".rules-channel").inner_text().startswith("email")

    claim = explain(page, "HIS-2013-0412", f"draft: {draft}")
    assert claim.locator(".rules-treatment").inner_text() == "step"
    assert claim.locator(".rules-plan").inner_text() == "Large business debts"
    assert claim.locator(".rules-step").inner_text() == (
        "#1 Final notice (Final notice)"
    )
    assert claim.locator(".rules-channel").inner_text().startswith("letter")
    assert claim.locator(".rules-tone").inner_text().startswith("firm")
    matched = claim.locator(".rules-matched").inner_text()
    assert matched.startswith(f"Matched: rule #10 '{RULE}'")
    assert "customer's open total" in matched

    # The dry-run over the whole portfolio: only Hallett's two claims change.
    page.goto(f"{base}/admin/rules/ruleset/")
    page.get_by_role("row", name="Large debts").get_by_role(
        "link", name="Dry-run"
    ).click()
    page.locator("input[name=on]").fill(ON.isoformat())
    page.get_by_role("button", name="Run the dry-run").click()
    changed = page.locator("table.rules-changed tbody tr")
    assert changed.count() == 2
    for row in changed.all():
        text = row.inner_text()
        assert "Hallett Industrial Supply Inc." in text
        assert "plan: Large business debts" in text
        assert "channel: letter" in text
        assert "tone: firm" in text

    page.get_by_role("button", name="Activate this rule set").click()
    assert "is now active" in page.locator(".messagelist").inner_text()
    assert problems == []
    draft.refresh_from_db()
    assert (draft.status, draft.activated_by) == ("active", f"user:{maria.pk}")

    out = StringIO()
    call_command("run_dunning", "--date", ON.isoformat(), "--json", stdout=out)
    summary = json.loads(out.getvalue())

    assert summary["steps_taken"].get("1:Final notice") == 2
    message = Message.objects.select_related("decision").get(customer=hallett)
    assert (message.channel, message.tone, message.status) == ("letter", "firm", "sent")
    assert message.subject.startswith("Final notice")
    assert sorted(
        (item.invoice.number, item.action) for item in message.items.all()
    ) == [("HIS-2013-0412", "final_notice"), ("HIS-2013-0451", "final_notice")]
    assert message.decision.reasons["rule"].startswith(f"rule #10 '{RULE}'")
    assert {c.plan.name for c in Case.objects.filter(customer=hallett)} == {
        "Large business debts"
    }

    # The IBM customers owe less: the Standard plan's reminder, no rule applied.
    others = Message.objects.exclude(customer=hallett).select_related("decision")
    assert others.count() == sum(summary["messages"].values()) - 1 > 0
    assert {c.plan.name for c in Case.objects.exclude(customer=hallett)} == {"Standard"}
    for other in others:
        assert {item.action for item in other.items.all()} == {"reminder"}
        assert other.tone == "neutral"
        assert (
            "did not match: customer's open total (in the claim's currency) is"
            in other.decision.reasons["rule"]
        )
