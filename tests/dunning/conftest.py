"""Portfolios the run's tests share."""

from datetime import date, timedelta

from customers.models import Customer


def make_debtors(creditor, make_invoice, *, count, prefix, base, step, phones=False):
    """`count` debtors with one to three claims each, due over two months: every
    third a business, every fourth without e-mail, every fifth with a mobile
    number if `phones`, German and English alternately."""
    for n in range(count):
        customer = Customer.objects.create(
            creditor=creditor,
            external_id=f"{prefix}-{n:03d}",
            kind="business" if n % 3 == 0 else "consumer",
            name=f"Debtor {n}",
            email=f"d{n}@example.com" if n % 4 else "",
            phone="+4915112345678" if phones and n % 5 == 0 else "",
            street="Weg 1",
            city="Berlin",
            country="DE",
            language="de" if n % 2 else "en",
        )
        for k in range(1 + n % 3):
            make_invoice(
                customer,
                f"{base + step * n + k}.00",
                due_on=date(2025, 1, 10) + timedelta(days=3 * n + 11 * k),
                number=f"{prefix}-{n:03d}-{k}",
            )
