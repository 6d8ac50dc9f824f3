"""Deliveries with their events (read-only) and the channel alerts.

Managers acknowledge alerts with the list action, which calls
`delivery.services.alert_acknowledge`; it needs
`delivery.acknowledge_channelalert`.
"""

from django.contrib import admin, messages

from delivery import services
from delivery.models import ChannelAlert, Delivery, DeliveryEvent
from payments.admin import ReadOnlyMixin, admin_link


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "message_id",
        "creditor",
        "channel",
        "provider",
        "sent_at",
        "failed_at",
        "fallback",
    ]
    list_filter = ["channel", "provider", ("failed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["creditor", "fallback_message"]
    search_fields = ["provider_message_id", "message__id"]
    date_hierarchy = "sent_at"
    fields = [
        "message_link",
        "creditor",
        "channel",
        "provider",
        "provider_message_id",
        "sent_at",
        "failed_at",
        "fallback",
        "fallback_note",
        "moved_items",
        "events",
    ]
    readonly_fields = fields

    @admin.display(description="message")
    def message_link(self, obj):
        return admin_link(obj.message, f"Message {obj.message_id}")

    @admin.display(description="fallback message")
    def fallback(self, obj):
        return admin_link(obj.fallback_message, f"Message {obj.fallback_message_id}")

    @admin.display(description="events")
    def events(self, obj):
        from django.utils.html import format_html_join

        rows = obj.message.delivery_events.all()
        return format_html_join(
            "",
            "<div>{} — {} {} ({})</div>",
            (
                (f"{e.occurred_at:%Y-%m-%d %H:%M:%S}", e.kind, e.bounce, e.provider)
                for e in rows
            ),
        )


@admin.register(DeliveryEvent)
class DeliveryEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["occurred_at", "message_id", "kind", "bounce", "provider"]
    list_filter = ["kind", "bounce", "provider"]
    search_fields = ["provider_event_id", "message__id"]
    date_hierarchy = "occurred_at"
    fields = [
        "message",
        "kind",
        "bounce",
        "provider",
        "provider_event_id",
        "occurred_at",
        "detail",
        "created_at",
    ]
    readonly_fields = fields


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("acknowledged", "Acknowledged")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(acknowledged_at__isnull=True)
        if self.value() == "acknowledged":
            return queryset.filter(acknowledged_at__isnull=False)
        return queryset


@admin.register(ChannelAlert)
class ChannelAlertAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "opened_at",
        "creditor",
        "channel",
        "window_rate_percent",
        "window_failures",
        "window_messages",
        "baseline_rate_percent",
        "acknowledged_at",
        "acknowledged_by",
    ]
    list_filter = [OpenFilter, "channel", "creditor"]
    list_select_related = ["creditor", "acknowledged_by"]
    date_hierarchy = "opened_at"
    actions = ["acknowledge"]

    @admin.display(description="failure rate", ordering="window_rate")
    def window_rate_percent(self, obj):
        return f"{obj.window_rate:.2%}"

    @admin.display(description="baseline", ordering="baseline_rate")
    def baseline_rate_percent(self, obj):
        return f"{obj.baseline_rate:.2%}"

    @admin.action(
        description="Acknowledge the selected alerts",
        permissions=["acknowledge"],
    )
    def acknowledge(self, request, queryset):
        count = services.alert_acknowledge(
            alert_ids=queryset.values_list("pk", flat=True), user=request.user
        )
        self.message_user(request, f"{count} alerts acknowledged.", messages.SUCCESS)

    def has_acknowledge_permission(self, request):
        return request.user.has_perm("delivery.acknowledge_channelalert")
