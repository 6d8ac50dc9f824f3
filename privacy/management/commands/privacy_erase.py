from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from customers.models import Customer
from privacy.erasure import ErasureError, customer_erase


class Command(BaseCommand):
    help = (
        "Erase a debtor's personal data (GDPR art. 17); the ledger stays. "
        "Refused while a claim is open unless a manager (--user) forces it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customer", type=int, required=True, help="Customer id")
        parser.add_argument("--reason", required=True, help="Why; no personal data")
        parser.add_argument("--user", help="Username of the member of staff asking")
        parser.add_argument(
            "--force", action="store_true", help="Erase with claims still open"
        )

    def handle(self, *args, customer, reason, user, force, **options):
        found = Customer.objects.filter(pk=customer).first()
        if found is None:
            raise CommandError(f"No customer with id {customer}.")
        actor = "system:privacy_erase"
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"No user {user!r}.")

        try:
            erasure = customer_erase(
                customer=found, actor=actor, reason=reason, force=force
            )
        except ErasureError as error:
            raise CommandError(str(error)) from None
        changed = sum(erasure.counts.values())
        self.stdout.write(f"customer {found.pk} erased: {changed} rows and files")
