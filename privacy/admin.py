"""The privacy records, read only; retention periods are set per creditor."""

from django.contrib import admin

from privacy.models import AccessLog, Erasure, RetentionPolicy


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    list_display = ["creditor", "retention_days", "updated_at"]
    list_select_related = ["creditor"]
    autocomplete_fields = ["creditor"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Erasure)
class ErasureAdmin(ReadOnlyAdmin):
    list_display = ["customer", "erased_at", "actor", "forced", "reason"]
    list_filter = ["forced", "erased_at"]
    list_select_related = ["customer"]
    date_hierarchy = "erased_at"


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "username", "action", "customer", "page"]
    list_filter = ["action", "page", "at"]
    list_select_related = ["customer"]
    search_fields = ["username", "customer__external_id"]
    date_hierarchy = "at"
