"""Admin for messages: what was planned or sent, to whom, and why it looks so."""

from django.contrib import admin
from django.utils.html import format_html

from core.money import format_money
from messaging.models import Message, MessageItem
from payments.admin import ReadOnlyMixin, admin_link
from personalisation.admin import pretty_json


class MessageItemInline(ReadOnlyMixin, admin.TabularInline):
    model = MessageItem
    extra = 0
    fields = ["invoice", "level", "action", "amount_at_planning", "case_step"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("invoice", "case_step__step__plan")
        )

    @admin.display(description="Open amount at planning")
    def amount_at_planning(self, item):
        return format_money(item.open_amount, item.currency)


@admin.register(Message)
class MessageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "customer",
        "channel",
        "status",
        "scheduled_at",
        "sent_at",
        "action_date",
        "tone",
    ]
    list_filter = ["channel", "status", "tone", "creditor"]
    list_select_related = ["customer"]
    search_fields = [
        "customer__name",
        "customer__external_id",
        "items__invoice__number",
        "idempotency_key",
    ]
    date_hierarchy = "scheduled_at"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "customer",
                    "creditor",
                    "channel",
                    "status",
                    "status_reason",
                    "recipient",
                    "language",
                    "tone",
                    "action_date",
                    "scheduled_at",
                    "sent_at",
                    "run",
                    "idempotency_key",
                ]
            },
        ),
        ("Content", {"fields": ["subject", "body_text", "file_path"]}),
        (
            "Decision",
            {
                "fields": [
                    "decision_link",
                    "decision_channel",
                    "decision_send_at",
                    "decision_tone",
                    "decision_variant",
                    "decision_payment_options",
                    "decision_reasons",
                    "decision_scores",
                    "decision_policy",
                    "decision_model_version",
                ]
            },
        ),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]
    inlines = [MessageItemInline]

    @admin.display(description="Body")
    def body_text(self, message):
        # Shown as text: the body may be HTML as sent and must not render here.
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', message.body)

    @admin.display(description="Decision")
    def decision_link(self, message):
        return admin_link(message.decision)

    @admin.display(description="Channel chosen")
    def decision_channel(self, message):
        return message.decision.channel or "-"

    @admin.display(description="Send time chosen")
    def decision_send_at(self, message):
        return message.decision.send_at or "-"

    @admin.display(description="Tone")
    def decision_tone(self, message):
        return message.decision.tone

    @admin.display(description="Wording variant")
    def decision_variant(self, message):
        return message.decision.variant

    @admin.display(description="Payment options")
    def decision_payment_options(self, message):
        return ", ".join(message.decision.payment_options) or "-"

    @admin.display(description="Reasons")
    def decision_reasons(self, message):
        return pretty_json(message.decision.reasons)

    @admin.display(description="Scores")
    def decision_scores(self, message):
        return pretty_json(message.decision.scores)

    @admin.display(description="Policy")
    def decision_policy(self, message):
        return message.decision.policy

    @admin.display(description="Model version")
    def decision_model_version(self, message):
        return message.decision.model_version or "-"
