"""Admin for personalisation decisions: shown for explanation, never edited."""

import json

from django.contrib import admin
from django.utils.html import format_html

from personalisation.models import Decision


def pretty_json(value) -> str:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return format_html('<pre style="white-space: pre-wrap">{}</pre>', text)


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "customer",
        "action",
        "channel",
        "send_at",
        "tone",
        "variant",
        "policy",
        "model_version",
    ]
    list_filter = ["channel", "tone", "policy", "model_version"]
    list_select_related = ["customer"]
    search_fields = ["customer__name", "customer__external_id", "model_version"]
    fields = [
        "customer",
        "action",
        "channel",
        "send_at",
        "tone",
        "variant",
        "language",
        "payment_options",
        "reasons_json",
        "scores_json",
        "policy",
        "model_version",
        "created_at",
    ]
    readonly_fields = fields

    # A decision is the record of why a message looks as it does; changing it
    # afterwards would falsify the explanation.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Reasons")
    def reasons_json(self, decision):
        return pretty_json(decision.reasons)

    @admin.display(description="Scores")
    def scores_json(self, decision):
        return pretty_json(decision.scores)
