"""Admin for contact policies (managers) and opt-outs (recorded, never edited)."""

from django.contrib import admin

from contact.models import ContactPolicy, OptOut
from contact.services import opt_out_record
from customers.models import Channel


def _cap_text(cap) -> str:
    return f"{cap[0]} in {cap[1]} d" if cap else "–"


@admin.register(ContactPolicy)
class ContactPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "scope_display",
        "hours",
        "days",
        "total_cap_display",
        "min_gap_hours",
        "channels_display",
        "updated_at",
    ]
    list_filter = ["product_default", "weekends", "public_holidays"]
    list_select_related = ["creditor"]
    search_fields = ["name", "creditor__name"]
    autocomplete_fields = ["creditor"]
    fieldsets = [
        (None, {"fields": ["name", "product_default", "creditor", "description"]}),
        (
            "Hours and days (the debtor's time zone and country)",
            {"fields": ["send_from", "send_until", "weekends", "public_holidays"]},
        ),
        (
            "Frequency",
            {
                "fields": [
                    ("max_contacts", "max_contacts_days"),
                    "min_gap_hours",
                    "when_capped",
                ]
            },
        ),
        (
            "Channels",
            {
                "description": "A cap needs both numbers, e.g. 3 SMS within 7 "
                "days; leave both empty for no cap of the channel's own.",
                "fields": [
                    (f"{channel}_enabled", f"{channel}_max", f"{channel}_max_days")
                    for channel in Channel.values
                ],
            },
        ),
    ]

    @admin.display(description="Applies to")
    def scope_display(self, policy):
        return policy.scope

    @admin.display(description="Hours")
    def hours(self, policy):
        return policy.window_text()

    @admin.display(description="Days")
    def days(self, policy):
        return policy.days_text()

    @admin.display(description="Total cap")
    def total_cap_display(self, policy):
        return _cap_text(policy.total_cap())

    @admin.display(description="Channels")
    def channels_display(self, policy):
        return ", ".join(
            f"{channel} {_cap_text(policy.channel_cap(channel))}"
            for channel in Channel.values
            if policy.channel_enabled(channel)
        )


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    """Clerks add an opt-out a debtor asked for by phone or letter; the service
    withdraws the consent with it. Rows are evidence and never change."""

    list_display = ["at", "customer", "channel", "source", "actor", "note"]
    list_filter = ["channel", "source"]
    list_select_related = ["customer"]
    search_fields = ["customer__name", "customer__external_id", "note"]
    autocomplete_fields = ["customer"]
    date_hierarchy = "at"
    fields = ["customer", "channel", "note"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["customer", "channel", "source", "at", "actor", "note"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return self.fields
        return ["customer", "channel", "source", "at", "actor", "note"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        recorded = opt_out_record(
            customer_id=obj.customer_id,
            channel=obj.channel,
            source=OptOut.Source.CLERK,
            actor=f"user:{request.user.pk}",
            note=obj.note,
        )
        # The admin's log entry and redirect need the saved row.
        obj.pk, obj.at, obj.source = recorded.pk, recorded.at, recorded.source
