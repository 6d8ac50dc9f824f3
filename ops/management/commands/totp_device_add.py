"""Give a staff member a TOTP device for the admin's two-factor login."""

import segno
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Create a confirmed TOTP device for a staff user (ADMIN_REQUIRE_2FA) and "
        "print its otpauth:// address as text and as a QR code to scan."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="phone", help="The device's name")
        parser.add_argument(
            "--no-qr", action="store_true", help="Only the address, no QR code"
        )

    def handle(self, *args, username, name, no_qr, **options):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        if not user.is_staff:
            raise CommandError(f"{username} is not staff: the admin is for staff only")
        if TOTPDevice.objects.filter(user=user, name=name).exists():
            raise CommandError(
                f"{username} already has a device named {name!r}; delete it in "
                "the admin first or choose another --name"
            )
        device = TOTPDevice.objects.create(user=user, name=name, confirmed=True)
        self.stdout.write(device.config_url)
        if not no_qr:
            segno.make(device.config_url, error="m").terminal(out=self.stdout)
