"""A three-variant wording experiment with a 10 % holdout over a simulated
month: the run day by day, a seeded responder that pays by the wording it
read, and the per-arm results on the experiment's admin page."""

import random
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from audit.roles import MANAGER
from customers.models import Customer
from dunning.run import run_dunning
from experiments.models import Assignment
from experiments.results import experiment_results
from messaging.models import Message, MessageTemplate
from payments.models import Invoice
from payments.services import payment_record

pytestmark = pytest.mark.django_db

DEBTORS = 300
FIRST_DAY = date(2025, 3, 3)
DAYS = 30
WINDOW = 14
# The chance that a debtor pays the reminded claim, by the wording they read;
# the holdout reads the standard variant "a".
TRUE_RATE = {"a": 0.20, "b": 0.35, "c": 0.60}


@pytest.fixture
def wordings():
    """Variants b and c of the German reminder e-mail, each marked in its
    text so the responder can tell which one a debtor read."""
    standard = MessageTemplate.objects.get(
        action="reminder",
        channel="email",
        tone="empathetic",
        language="de",
        variant="a",
        step=None,
    )
    for variant in ("b", "c"):
        MessageTemplate.objects.create(
            action="reminder",
            channel="email",
            tone="empathetic",
            language="de",
            variant=variant,
            subject=standard.subject,
            body=f"{standard.body}\n\nWording {variant.upper()}.",
        )


@pytest.fixture
def portfolio(creditor):
    """300 consumers with one claim each, falling due over the month."""
    spread = random.Random(3)
    claims = []
    for n in range(DEBTORS):
        customer = Customer.objects.create(
            creditor=creditor,
            external_id=f"M-{n:03d}",
            kind="consumer",
            name=f"Debtor {n}",
            email=f"debtor{n}@example.com",
            street="Lindenweg 5",
            postcode="10117",
            city="Berlin",
            country="DE",
            language="de",
            time_zone="Europe/Berlin",
        )
        due = FIRST_DAY - timedelta(days=4) + timedelta(days=spread.randrange(18))
        claims.append((customer, due))
    return claims


def read_variant(message: Message) -> str:
    found = re.search(r"Wording ([BC])\.", message.body)
    return found.group(1).lower() if found else "a"


def test_a_month_of_a_wording_experiment_with_a_holdout(
    client, creditor, make_experiment, make_invoice, wordings, portfolio
):
    for customer, due in portfolio:
        make_invoice(customer, "120.00", due_on=due)
    experiment = make_experiment(
        "Reminder wording",
        arms=["a", "b", "c"],
        action="reminder",
        holdout_percent=Decimal(10),
        allocation="thompson",
        burn_in=30,
        window_days=WINDOW,
        min_sample=20,
        salt="a-simulated-month",
    )
    responder = random.Random(6)
    payments_due = defaultdict(list)

    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        for invoice_id in payments_due.pop(day, []):
            claim = Invoice.objects.get(pk=invoice_id)
            if claim.status == Invoice.Status.OPEN:
                payment_record(
                    customer=claim.customer,
                    amount=claim.open_amount,
                    currency=claim.currency,
                    received_on=day,
                    actor="test:responder",
                    invoice=claim,
                    method="bank_transfer",
                )
        summary = run_dunning(
            actor="test",
            run_date=day,
            send_now=True,
            now=datetime.combine(day, datetime.min.time(), UTC).replace(hour=17),
        )
        sent = Message.objects.filter(
            run_id=summary["run_id"], status="sent", items__action="reminder"
        ).prefetch_related("items")
        for message in sent:
            if responder.random() < TRUE_RATE[read_variant(message)]:
                pays_on = day + timedelta(days=responder.randrange(1, 10))
                for item in message.items.all():
                    payments_due[pays_on].append(item.invoice_id)

    # The figures computed here from the database, independently of the
    # experiment's own queries.
    assignments = list(
        Assignment.objects.filter(experiment=experiment).select_related(
            "arm", "decision__message"
        )
    )
    expected = {}
    for key in ["a", "b", "c", "holdout"]:
        mine = [a for a in assignments if (a.arm.key if a.arm else "holdout") == key]
        converted = 0
        for assignment in mine:
            message = assignment.decision.message
            claims = [item.invoice for item in message.items.all()]
            end = message.action_date + timedelta(days=WINDOW)
            converted += all(c.status == "paid" and c.settled_on <= end for c in claims)
        sent = Message.objects.filter(
            customer__in=[a.customer_id for a in mine],
            status="sent",
            items__action="reminder",
        ).count()
        expected[key] = (len(mine), sent, converted)
    variants = Counter(a.decision.variant for a in assignments if a.arm is None)

    assert len(assignments) == DEBTORS
    assert variants == {"a": expected["holdout"][0]}
    assert 10 <= expected["holdout"][0] <= 55
    assert all(n >= 30 for n, _, _ in expected.values() if n != expected["holdout"][0])
    # Thompson sampling gave the best wording the most debtors.
    assert expected["c"][0] > max(expected["a"][0], expected["b"][0])

    manager = User.objects.create_user("mona", password="x", is_staff=True)
    manager.groups.add(Group.objects.get(name=MANAGER))
    client.force_login(manager)
    page = client.get(
        reverse("admin:experiments_experiment_change", args=[experiment.pk])
    )
    listing = client.get(reverse("admin:experiments_experiment_changelist"))

    html = page.content.decode()
    assert page.status_code == 200
    for key, (assigned, sent, converted) in expected.items():
        label = "Holdout (standard)" if key == "holdout" else f"Variant {key}"
        value = "standard" if key == "holdout" else key
        row = (
            f'<tr class="arm-{key}"><td>{label}</td><td>{value}</td>'
            f"<td>{assigned}</td><td>{sent}</td><td>{converted}</td>"
        )
        assert row in html
    results = experiment_results(experiment)
    assert results.leader.key == "c"
    assert "Variant c (P(best)" in listing.content.decode()
    rates = {r.key: r.rate for r in results.rows}
    assert rates["c"] == max(rates.values())
