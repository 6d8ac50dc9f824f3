from django.core.management.base import BaseCommand, CommandError

from customers.models import Customer
from dunning.models import Case
from portal.services import link_create, link_url


class Command(BaseCommand):
    help = (
        "Create a personal payment link for a customer and print it. Without an id, "
        "for the first customer with a claim in dunning."
    )

    def add_arguments(self, parser):
        parser.add_argument("external_id", nargs="?")
        parser.add_argument("--creditor", help="Creditor name, if the id is ambiguous")

    def handle(self, *args, **options):
        customers = Customer.objects.select_related("creditor")
        if options["creditor"]:
            customers = customers.filter(creditor__name=options["creditor"])
        if options["external_id"]:
            matches = list(customers.filter(external_id=options["external_id"])[:2])
            if not matches:
                raise CommandError(
                    f"no customer with external id {options['external_id']}"
                )
            if len(matches) > 1:
                raise CommandError(
                    "the id exists for several creditors: use --creditor"
                )
            customer = matches[0]
        else:
            case = (
                Case.objects.filter(state=Case.State.IN_DUNNING, customer__in=customers)
                .order_by("customer_id")
                .first()
            )
            if case is None:
                raise CommandError("no customer has a claim in dunning")
            customer = case.customer
        _, token = link_create(customer=customer)
        self.stdout.write(link_url(token))
