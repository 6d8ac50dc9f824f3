from django.contrib import admin, messages
from django.db import models
from django.utils import timezone

from api.models import ApiClient, Delivery, Subscription
from api.webhooks import deliveries_resend

# Receivers are reached over TLS unless the URL says otherwise.
URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    formfield_overrides = URL_FIELDS
    extra = 0
    fields = ["url", "event_types", "active", "secret"]
    readonly_fields = ["secret"]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "scope", "throttle_rate", "token_hint", "revoked_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name"]
    filter_horizontal = ["creditors"]
    fields = [
        "name",
        "creditors",
        "scope",
        "throttle_rate",
        "token_hint",
        "created_at",
        "revoked_at",
    ]
    readonly_fields = ["token_hint", "created_at"]
    inlines = [SubscriptionInline]
    actions = ["revoke", "new_token"]

    def save_model(self, request, obj, form, change):
        token = None if change else obj.new_token()
        super().save_model(request, obj, form, change)
        if token:
            _show_token(request, obj, token)

    # A client's tokens are the keys to its creditors' data: only who may
    # change the client revokes them or has a new one shown.
    @admin.action(
        description="Revoke the tokens of the selected clients", permissions=["change"]
    )
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        self.message_user(request, f"{count} client(s) revoked.")

    @admin.action(
        description="Give the selected clients a new token", permissions=["change"]
    )
    def new_token(self, request, queryset):
        for client in queryset:
            token = client.new_token()
            client.revoked_at = None
            client.save(update_fields=["token_hash", "token_hint", "revoked_at"])
            _show_token(request, client, token)


def _show_token(request, client: ApiClient, token: str) -> None:
    # The token exists only in this message: only its hash is stored.
    messages.warning(
        request,
        f"The token of {client.name}, shown this once, copy it now: {token}",
    )


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS
    list_display = ["client", "url", "active", "created_at"]
    list_filter = ["active", "client"]
    list_select_related = ["client"]
    readonly_fields = ["secret", "created_at"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "event_type",
        "subscription",
        "status",
        "attempts",
        "response_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event_type"]
    list_select_related = ["subscription__client"]
    search_fields = ["event_id"]
    readonly_fields = [
        "subscription",
        "event_id",
        "event_type",
        "creditor",
        "payload",
        "status",
        "attempts",
        "response_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    ]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    @admin.action(
        description="Send the selected deliveries again now", permissions=["change"]
    )
    def resend(self, request, queryset):
        count = deliveries_resend(queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} delivery(ies) queued to be sent again.")
