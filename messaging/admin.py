"""Admin for messages: what was planned or sent, to whom, and why it looks so;
and the message templates managers write, with a preview for a real case."""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.money import format_money
from messaging.models import Message, MessageItem, MessageTemplate
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
        "=provider_id",
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
            "Sending",
            {"fields": ["attempts", "next_attempt_at", "last_error", "provider_id"]},
        ),
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
        versions = message.decision.model_versions or {}
        if not versions:
            return message.decision.model_version or "-"
        return ", ".join(f"{kind}: {v}" for kind, v in sorted(versions.items()))


class PreviewForm(forms.Form):
    message = forms.IntegerField(
        required=False, min_value=1, label="Message id", help_text="A real message"
    )
    case = forms.IntegerField(
        required=False,
        min_value=1,
        label="or case id",
        help_text="A claim's case, listed as the template's step would list it",
    )


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = [
        "action",
        "step",
        "channel",
        "tone",
        "language",
        "variant",
        "subject",
        "active",
        "updated_at",
    ]
    list_filter = ["action", "channel", "tone", "language", "active", "variant"]
    list_select_related = ["step__plan"]
    search_fields = ["subject", "body"]
    fieldsets = [
        (
            "Used for",
            {
                "fields": [
                    "action",
                    "step",
                    "channel",
                    "tone",
                    "language",
                    "variant",
                    "active",
                ]
            },
        ),
        ("Wording", {"fields": ["subject", "body", "html_body", "variables"]}),
    ]
    readonly_fields = ["variables"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "step":
            from dunning.models import Step

            kwargs["queryset"] = Step.objects.select_related("plan")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="Variables you can use")
    def variables(self, template=None):
        from messaging.templating import schema_paths

        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            ((name, var.type, var.meaning) for name, var in schema_paths()),
        )
        return format_html(
            "<details><summary>Every variable, its type and meaning (lists: "
            "loop with {{% for item in items %}})</summary><table>{}</table>"
            "</details>",
            rows,
        )

    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        urls = [
            path(
                "<path:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name=f"{info}_preview",
            ),
            path(
                "<path:object_id>/preview/pdf/",
                self.admin_site.admin_view(self.preview_pdf_view),
                name=f"{info}_preview_pdf",
            ),
        ]
        return urls + super().get_urls()

    def _readable(self, request, model):
        """The rows of `model` the user may open in its own admin: a preview
        shows a real message or case, so it shows only those."""
        model_admin = self.admin_site._registry.get(model)
        if model_admin is None or not model_admin.has_view_permission(request):
            return model.objects.none()
        return model_admin.get_queryset(request)

    def _template(self, request, object_id) -> MessageTemplate:
        template = self.get_object(request, unquote(object_id))
        if template is None:
            raise Http404("No such template.")
        if not self.has_view_permission(request, template):
            raise PermissionDenied
        return template

    def _preview_target(self, request, template):
        """The message or case chosen on the page; the newest fitting one if none."""
        from dunning.models import Case

        messages = self._readable(request, Message)
        form = PreviewForm(request.GET or None)
        message = case = None
        if form.is_bound and form.is_valid():
            if form.cleaned_data["message"]:
                message = (
                    messages.select_related("creditor", "customer", "decision")
                    .filter(pk=form.cleaned_data["message"])
                    .first()
                )
                if message is None:
                    form.add_error("message", "No message with this id.")
            elif form.cleaned_data["case"]:
                case = (
                    self._readable(request, Case)
                    .select_related("invoice", "customer", "creditor", "plan")
                    .filter(pk=form.cleaned_data["case"])
                    .first()
                )
                if case is None:
                    form.add_error("case", "No case with this id.")
        elif not form.is_bound:
            message = (
                messages.select_related("creditor", "customer", "decision")
                .filter(channel=template.channel, language=template.language)
                .order_by("-id")
                .first()
            )
        return form, message, case

    def preview_view(self, request, object_id):
        from messaging.preview import template_preview

        template = self._template(request, object_id)
        form, message, case = self._preview_target(request, template)
        preview = error = None
        if message is not None or case is not None:
            try:
                preview = template_preview(template, message=message, case=case)
            except ValueError as exc:
                # An SMS over the limit for this case: say so instead of failing.
                error = str(exc)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Preview: {template}",
            "template_object": template,
            "form": form,
            "preview": preview,
            "error": error,
            "pdf_url": reverse(
                "admin:messaging_messagetemplate_preview_pdf", args=[template.pk]
            )
            + "?"
            + request.GET.urlencode(),
            "recent_messages": self._readable(request, Message)
            .filter(channel=template.channel)
            .select_related("customer")
            .order_by("-id")[:10],
        }
        return TemplateResponse(
            request, "admin/messaging/messagetemplate/preview.html", context
        )

    def preview_pdf_view(self, request, object_id):
        from messaging.letters import html_to_pdf
        from messaging.preview import template_preview

        template = self._template(request, object_id)
        if template.channel != "letter":
            raise Http404("Only letter templates have a PDF.")
        form, message, case = self._preview_target(request, template)
        if message is None and case is None:
            raise Http404("Choose a message or a case.")
        preview = template_preview(template, message=message, case=case)
        response = HttpResponse(
            html_to_pdf(preview.html), content_type="application/pdf"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="template-{template.pk}-preview.pdf"'
        )
        return response
