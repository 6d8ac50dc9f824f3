from django.core.management.base import BaseCommand

from audit.roles import sync_roles


class Command(BaseCommand):
    help = "Create the back-office groups and set their permissions from audit.roles."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")

    def handle(self, *args, database, **options):
        counts = sync_roles(using=database)
        for name, count in counts.items():
            self.stdout.write(f"{name}: {count} permissions")
