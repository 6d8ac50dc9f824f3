"""A synthetic, reproducible portfolio for demos and benchmarks."""

import json
import random
import time
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.money import round_money
from customers.models import Creditor, Customer
from payments.models import Invoice
from payments.services import invoice_create, payment_record

FIRST = "Anna Ben Clara David Emma Felix Greta Hugo Ida Jonas Kemal Lena Mia".split()
LAST = "Becker Schmidt Yılmaz Nowak Müller Smith Łukasz Szabó Wagner Jones".split()
COMPANY = ["Bäckerei", "Autohaus", "Praxis", "Studio", "Logistik", "Bau", "Café"]
PROFILES = [
    # country, language, time zone, city, postcode, currency
    ("DE", "de", "Europe/Berlin", "Berlin", "10115", "EUR"),
    ("DE", "de", "Europe/Berlin", "München", "80331", "EUR"),
    ("AT", "de", "Europe/Vienna", "Wien", "1010", "EUR"),
    ("GB", "en", "Europe/London", "London", "EC1A 1BB", "GBP"),
    ("US", "en", "America/New_York", "New York", "10001", "USD"),
    ("JP", "en", "Asia/Tokyo", "Tokyo", "100-0001", "JPY"),
]
DEMO_CREDITOR = "Demo Shop GmbH"


class Command(BaseCommand):
    help = (
        "Create a synthetic portfolio (creditor, customers, open and paid claims, "
        "partial payments) relative to today. Reproducible with --seed; running it "
        "again adds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=60)
        parser.add_argument(
            "--invoices", type=int, default=None, help="Default: 2.5 per customer"
        )
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--json", action="store_true")
        parser.add_argument(
            "--sql",
            action="store_true",
            help=(
                "PostgreSQL: seed the benchmark's daily-run portfolio with "
                "INSERT … SELECT (a million claims in about a minute) instead "
                "of the ORM"
            ),
        )

    def handle(self, *args, **options):
        n_customers = options["customers"]
        n_invoices = options["invoices"] or int(n_customers * 2.5)
        if n_customers < 1 or n_invoices < 1:
            raise CommandError("--customers and --invoices must be positive")
        if options["sql"]:
            self._seed_sql(n_customers, n_invoices, options["json"])
            return
        started = time.monotonic()
        seed = options["seed"]

        with transaction.atomic():
            creditor, _ = Creditor.objects.get_or_create(
                name=DEMO_CREDITOR,
                defaults={
                    "legal_name": "Demo Shop GmbH",
                    "street": "Friedrichstraße 100",
                    "postcode": "10117",
                    "city": "Berlin",
                    "country": "DE",
                    "subdivision": "BE",
                    "time_zone": "Europe/Berlin",
                    "email": "receivables@demo-shop.example",
                    "phone": "+49 30 1234567",
                    "iban": "DE89370400440532013000",
                    "bic": "COBADEFFXXX",
                },
            )
            today = creditor.local_today()
            # One generator per customer and claim: the same seed gives the same
            # portfolio, and a second run finds everything in place.
            customers = [
                self._customer(creditor, i, random.Random(f"{seed}:c:{i}"))
                for i in range(1, n_customers + 1)
            ]
            created = paid = 0
            for j in range(1, n_invoices + 1):
                rng = random.Random(f"{seed}:i:{j}")
                customer = customers[rng.randrange(n_customers)]
                external_id = f"DEMO-INV-{j:07d}"
                if Invoice.objects.filter(
                    creditor=creditor, external_id=external_id
                ).exists():
                    continue
                created += 1
                paid += self._invoice(customer, external_id, today, rng)

        summary = {
            "creditor": creditor.name,
            "customers": n_customers,
            "invoices_created": created,
            "payments_created": paid,
            "seconds": round(time.monotonic() - started, 3),
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(
                f"Seeded {creditor.name}: {n_customers} customers, {created} new "
                f"claims, {paid} payments."
            )

    def _seed_sql(self, n_customers: int, n_invoices: int, as_json: bool) -> None:
        # Imported here: the ORM path must not depend on the dunning app.
        from dunning.seeding import SeedError, seed_daily_portfolio

        try:
            seeded = seed_daily_portfolio(customers=n_customers, claims=n_invoices)
        except SeedError as error:
            raise CommandError(str(error)) from error
        if as_json:
            self.stdout.write(json.dumps(seeded))
        else:
            self.stdout.write(
                f"seeded {seeded['customers']} customers and {seeded['claims']} "
                f"claims ({seeded['cases']} cases) in {seeded['seconds']} s"
            )

    def _customer(self, creditor, i, rng) -> Customer:
        external_id = f"DEMO-C-{i:06d}"
        existing = Customer.objects.filter(
            creditor=creditor, external_id=external_id
        ).first()
        if existing:
            return existing
        business = rng.random() < 0.3
        country, language, zone, city, postcode, currency = rng.choice(PROFILES)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        birth_year = rng.randrange(1940, 2004)
        has_phone = rng.random() < 0.5
        paper = rng.random() < 0.15
        name = f"{rng.choice(COMPANY)} {last}" if business else f"{first} {last}"
        slug = f"{first}.{last}.{i}".lower().encode("ascii", "ignore").decode()
        return Customer.objects.create(
            creditor=creditor,
            external_id=external_id,
            kind="business" if business else "consumer",
            name=name,
            email="" if paper else f"{slug}@example.com",
            phone=f"+4915{i:09d}" if has_phone else "",
            street=f"Musterstraße {i % 120 + 1}",
            postcode=postcode,
            city=city,
            country=country,
            language=language,
            time_zone=zone,
            birth_year=None if business else birth_year,
            consent_sms=has_phone,
            consent_email=not paper,
            preferred_channel="letter" if paper else "",
            segment=currency,
        )

    def _invoice(self, customer, external_id, today, rng) -> int:
        currency = customer.segment or "EUR"
        if currency == "JPY":
            amount = Decimal(rng.randrange(800, 90000))
        else:
            amount = Decimal(rng.randrange(1500, 250000)) / 100
        days_late = rng.choice([-10, 1, 3, 5, 9, 16, 20, 31, 45, 60, 90])
        due_on = today - timedelta(days=days_late)
        invoice = invoice_create(
            creditor=customer.creditor,
            customer=customer,
            external_id=external_id,
            number=external_id.replace("DEMO-INV-", "RE-"),
            currency=currency,
            amount=amount,
            issued_on=due_on - timedelta(days=14),
            due_on=due_on,
            actor="system:seed_demo",
        )
        roll = rng.random()
        if roll < 0.25:
            # Some claims are paid in full, some in part.
            share = Decimal(1) if roll < 0.15 else Decimal("0.4")
            payment_record(
                customer=customer,
                amount=round_money(invoice.amount * share, currency),
                currency=currency,
                received_on=min(today, due_on + timedelta(days=2)),
                invoice=invoice,
                external_id=f"{external_id}-P",
                actor="system:seed_demo",
            )
            return 1
        return 0
