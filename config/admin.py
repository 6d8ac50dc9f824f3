"""The admin site, with optional two-factor login for staff (django-otp).

With ADMIN_REQUIRE_2FA on, a staff member signs in with password and the
six-digit code of a TOTP device registered in the admin ("TOTP devices"); a
session without a verified device is treated as not staff. The setting is read
per request, so the same site serves both modes.
"""

from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite


class DunningAdminSite(AdminSite):
    @property
    def login_form(self):
        if settings.ADMIN_REQUIRE_2FA:
            return OTPAdminAuthenticationForm
        return AdminAuthenticationForm

    @property
    def login_template(self):
        if settings.ADMIN_REQUIRE_2FA:
            # The stock login page with the device and token fields added.
            return OTPAdminSite.login_template
        return None

    def has_permission(self, request) -> bool:
        if not super().has_permission(request):
            return False
        return not settings.ADMIN_REQUIRE_2FA or request.user.is_verified()
