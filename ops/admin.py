"""The task queue's and the TOTP devices' admins, re-registered with the
permissions their data needs.

django-q2 offers "Resubmit selected tasks" to everyone who may read the task
lists (auditors, managers), and resubmitting runs the task's function again: a
dunning run, a dispatch. django-otp shows a device's secret key, its
configuration page and its QR code to everyone who may view the device, which
is the second factor itself. Both packages' admin modules are imported before
this one (INSTALLED_APPS order), so they are replaced here.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django_otp.plugins.otp_totp import admin as totp_admin
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_q import admin as queue_admin
from django_q.models import Failure, Success

# The fields that let someone produce the device's codes.
SECRET_FIELDS = {"key", "qrcode_link"}


@admin.action(
    description=queue_admin.resubmit_task.short_description, permissions=["change"]
)
def resubmit_task(model_admin, request, queryset):
    queue_admin.resubmit_task(model_admin, request, queryset)


class SuccessAdmin(queue_admin.TaskAdmin):
    actions = [resubmit_task]


class FailureAdmin(queue_admin.FailAdmin):
    actions = [resubmit_task]


class TOTPDeviceAdmin(totp_admin.TOTPDeviceAdmin):
    def _may_read_secret(self, request, device) -> bool:
        return self.has_change_permission(request, device)

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        if self.has_change_permission(request):
            return shown
        return [name for name in shown if name not in SECRET_FIELDS]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self._may_read_secret(request, obj):
            return fieldsets
        return [
            (name, {**options, "fields": hidden})
            for name, options in fieldsets
            if (hidden := [f for f in options["fields"] if f not in SECRET_FIELDS])
        ]

    def _check_secret(self, request, pk) -> None:
        # Looked up in the admin's queryset: an unknown id is not found (the
        # package's own lookup raised DoesNotExist, a server error).
        device = self.get_object(request, str(pk))
        if device is None:
            raise Http404("No such device.")
        if not self._may_read_secret(request, device):
            raise PermissionDenied

    def config_view(self, request, pk):
        self._check_secret(request, pk)
        return super().config_view(request, pk)

    def qrcode_view(self, request, pk):
        self._check_secret(request, pk)
        return super().qrcode_view(request, pk)


for _model, _admin_class in [
    (Success, SuccessAdmin),
    (Failure, FailureAdmin),
    (TOTPDevice, TOTPDeviceAdmin),
]:
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, _admin_class)
