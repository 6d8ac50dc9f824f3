"""Reference rates and statutory interest regimes as published.

Each reference rate is stored as the value that applies from each half-year on,
as the statutes define it, so that interest for a day uses the row with the
latest `valid_from` on or before that day. Rows before 2023 are only kept where
the rate changed. Admins add the next half-year's row in the admin.

- German base rate (BGB §247), Deutsche Bundesbank: -0.88 % from 1 July 2016
  until 2022; 1.62, 3.12, 3.62, 3.37, 2.27, 1.27, 1.27 % from 1 January 2023 on.
- ECB main refinancing operations rate in force on 1 January / 1 July
  (Directive 2011/7/EU, art. 2(8)).
- Bank of England Bank Rate in force on 31 December / 30 June, for the
  following half-year (Late Payment of Commercial Debts (Rate of Interest)
  (No. 3) Order 2002).
"""

from datetime import date
from decimal import Decimal

from django.db import migrations

REFERENCE_RATES = {
    "de-base": (
        "German base rate (Basiszinssatz, BGB §247)",
        "Deutsche Bundesbank, announced in the Bundesanzeiger",
        [
            ("2016-07-01", "-0.88"),
            ("2023-01-01", "1.62"),
            ("2023-07-01", "3.12"),
            ("2024-01-01", "3.62"),
            ("2024-07-01", "3.37"),
            ("2025-01-01", "2.27"),
            ("2025-07-01", "1.27"),
            ("2026-01-01", "1.27"),
        ],
    ),
    "ecb-mro": (
        "ECB main refinancing rate (on 1 January / 1 July)",
        "European Central Bank, key interest rates",
        [
            ("2016-07-01", "0.00"),
            ("2023-01-01", "2.50"),
            ("2023-07-01", "4.00"),
            ("2024-01-01", "4.50"),
            ("2024-07-01", "4.25"),
            ("2025-01-01", "3.15"),
            ("2025-07-01", "2.15"),
            ("2026-01-01", "2.15"),
        ],
    ),
    "boe-base": (
        "Bank of England Bank Rate (on 31 December / 30 June)",
        "Bank of England, Bank Rate history",
        [
            ("2016-07-01", "0.50"),
            ("2017-01-01", "0.25"),
            ("2018-01-01", "0.50"),
            ("2019-01-01", "0.75"),
            ("2020-07-01", "0.10"),
            ("2022-01-01", "0.25"),
            ("2022-07-01", "1.25"),
            ("2023-01-01", "3.50"),
            ("2023-07-01", "5.00"),
            ("2024-01-01", "5.25"),
            ("2024-07-01", "5.25"),
            ("2025-01-01", "4.75"),
            ("2025-07-01", "4.25"),
            ("2026-01-01", "3.75"),
        ],
    ),
}

# code: name, legal basis, reference, consumer points, business points,
# compensation tiers (currency, debt below, amount) for business debtors.
REGIMES = {
    "de-bgb-288": (
        "Germany: statutory default interest",
        "BGB §288 (base rate + 5 / + 9 points; €40 flat fee, §288(5))",
        "de-base",
        "5",
        "9",
        [("EUR", None, "40")],
    ),
    "eu-2011-7": (
        "EU: late payment in commercial transactions",
        "Directive 2011/7/EU (ECB rate + 8 points; at least €40)",
        "ecb-mro",
        "8",
        "8",
        [("EUR", None, "40")],
    ),
    "uk-late-payment": (
        "UK: late payment of commercial debts",
        "Late Payment of Commercial Debts (Interest) Act 1998 (base rate + 8 %)",
        "boe-base",
        "8",
        "8",
        [("GBP", "1000", "40"), ("GBP", "10000", "70"), ("GBP", None, "100")],
    ),
}


def seed(apps, schema_editor):
    ReferenceRate = apps.get_model("payments", "ReferenceRate")
    ReferenceRateValue = apps.get_model("payments", "ReferenceRateValue")
    InterestRegime = apps.get_model("payments", "InterestRegime")
    CompensationTier = apps.get_model("payments", "CompensationTier")

    references = {}
    for code, (name, source, values) in REFERENCE_RATES.items():
        reference, _ = ReferenceRate.objects.get_or_create(
            code=code, defaults={"name": name, "source": source}
        )
        references[code] = reference
        for valid_from, rate in values:
            ReferenceRateValue.objects.get_or_create(
                reference=reference,
                valid_from=date.fromisoformat(valid_from),
                defaults={"rate": Decimal(rate)},
            )

    for code, (name, basis, reference, consumer, business, tiers) in REGIMES.items():
        regime, created = InterestRegime.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "legal_basis": basis,
                "reference": references[reference],
                "consumer_points": Decimal(consumer),
                "business_points": Decimal(business),
                "day_count": "act/365",
            },
        )
        if created:
            for currency, below, amount in tiers:
                CompensationTier.objects.create(
                    regime=regime,
                    currency=currency,
                    debt_below=Decimal(below) if below else None,
                    amount=Decimal(amount),
                )


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_interest_regimes_and_charge_keys")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
