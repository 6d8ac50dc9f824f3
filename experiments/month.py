"""A wording experiment over a simulated month, to watch one work end to end.

`month_run` seeds consumers with one claim each falling due over the month,
adds variants b and c of the German reminder e-mail (each marked in its text),
starts a three-arm experiment with a holdout and then runs the product day by
day: the daily run plans and sends, and a seeded responder pays the reminded
claims with the chance the manager stated per wording (`true_rates`, an
assumption of the demonstration, not something learned). Payments go through
`payments.services.payment_record`, so cases close as in production and the
experiment's results are computed from the tables like any other.

The `experiment_month` command runs it in a scratch database of its own; the
tests run it in theirs.
"""

import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

EXPERIMENT_NAME = "Reminder wording (simulated month)"
# The chance that a debtor pays the reminded claim by the wording they read;
# the holdout reads the standard "a".
TRUE_RATES = {"a": 0.20, "b": 0.35, "c": 0.60}
MARK = re.compile(r"Wording ([BC])\.")


@dataclass
class Month:
    experiment_id: int
    first_day: date
    days: int
    sent: int = 0
    paid: int = 0
    by_variant: dict = field(default_factory=lambda: defaultdict(int))


def wordings_add() -> None:
    """Variants b and c of the German reminder e-mail, marked in their text."""
    from messaging.models import MessageTemplate

    standard = MessageTemplate.objects.get(
        action="reminder",
        channel="email",
        tone="empathetic",
        language="de",
        variant="a",
        step=None,
    )
    for variant in ("b", "c"):
        MessageTemplate.objects.get_or_create(
            action="reminder",
            channel="email",
            tone="empathetic",
            language="de",
            variant=variant,
            step=None,
            defaults={
                "subject": standard.subject,
                "body": f"{standard.body}\n\nWording {variant.upper()}.",
            },
        )


def portfolio_seed(*, creditor, debtors: int, first_day: date, seed: int) -> None:
    """Consumers with one 120 EUR claim each, falling due around the first day."""
    from customers.models import Customer
    from payments.services import invoice_create

    spread = random.Random(seed)
    for n in range(debtors):
        customer = Customer.objects.create(
            creditor=creditor,
            external_id=f"M-{n:04d}",
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
        due = first_day - timedelta(days=4) + timedelta(days=spread.randrange(18))
        invoice_create(
            creditor=creditor,
            customer=customer,
            external_id=f"MI-{n:04d}",
            number=f"MI-{n:04d}",
            currency="EUR",
            amount=Decimal("120.00"),
            issued_on=due - timedelta(days=30),
            due_on=due,
            actor="experiment_month",
        )


def experiment_create(*, window_days: int, salt: str):
    from django.utils import timezone

    from experiments.models import Arm, Experiment

    experiment = Experiment.objects.create(
        name=EXPERIMENT_NAME,
        status=Experiment.Status.RUNNING,
        started_at=timezone.now(),
        started_by="system:experiment_month",
        action="reminder",
        holdout_percent=Decimal(10),
        allocation="thompson",
        burn_in=30,
        window_days=window_days,
        min_sample=20,
        salt=salt,
    )
    for key in ("a", "b", "c"):
        Arm.objects.create(
            experiment=experiment, key=key, label=f"Variant {key}", value=key
        )
    return experiment


def read_variant(message) -> str:
    found = MARK.search(message.body)
    return found.group(1).lower() if found else "a"


def month_replay(
    *,
    experiment,
    first_day: date,
    days: int,
    seed: int,
    true_rates: dict | None = None,
) -> Month:
    """The run day by day, and the responder paying by the wording read."""
    from dunning.run import run_dunning
    from messaging.models import Message
    from payments.models import Invoice
    from payments.services import payment_record

    rates = true_rates or TRUE_RATES
    responder = random.Random(seed)
    payments_due: dict[date, list[int]] = defaultdict(list)
    month = Month(experiment.pk, first_day, days)
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for invoice_id in payments_due.pop(day, []):
            claim = Invoice.objects.get(pk=invoice_id)
            if claim.status == Invoice.Status.OPEN:
                payment_record(
                    customer=claim.customer,
                    amount=claim.open_amount,
                    currency=claim.currency,
                    received_on=day,
                    actor="system:responder",
                    invoice=claim,
                    method="bank_transfer",
                )
                month.paid += 1
        summary = run_dunning(
            actor="system:experiment_month",
            run_date=day,
            send_now=True,
            now=datetime.combine(day, datetime.min.time(), UTC).replace(hour=17),
        )
        sent = Message.objects.filter(
            run_id=summary["run_id"], status="sent", items__action="reminder"
        ).prefetch_related("items")
        for message in sent:
            variant = read_variant(message)
            month.sent += 1
            month.by_variant[variant] += 1
            if responder.random() < rates[variant]:
                pays_on = day + timedelta(days=responder.randrange(1, 10))
                for item in message.items.all():
                    payments_due[pays_on].append(item.invoice_id)
    return month
