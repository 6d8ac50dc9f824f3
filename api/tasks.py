"""django-q2 entry points; they take ids, never model instances."""

from api import services, webhooks


def claims_evaluate(invoice_ids: list[int]) -> dict:
    """Right after a payment or credit note arrived through the API."""
    return services.claims_evaluate(invoice_ids=invoice_ids, actor="system:api")


def delivery_send(delivery_id: int) -> str:
    return webhooks.delivery_send(delivery_id)


def claims_dun(invoice_ids: list[int]) -> dict:
    """Right after a payment came back (a failed direct debit)."""
    return services.claims_dun(invoice_ids=invoice_ids, actor="system:api")


def claims_overdue_dun() -> dict:
    """The frequent schedule "api-overdue-claims": claims that just fell due."""
    return services.claims_overdue_dun(actor="system:schedule")
