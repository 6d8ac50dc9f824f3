"""The replies list and the reply page, where a clerk confirms or dismisses.

The clerk queue is this list filtered to "In queue". A reply's proposal is a
form already filled in from the reply (the pause's end, the promised date and
amount, the dispute's reason): one click on "Confirm: …" carries it out
through `replies.services`, which calls the case services. Only users with
`dunning.work_case` see the buttons; everyone else reads.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from core.money import round_money
from dunning.models import Case
from dunning.services import CaseWorkError
from payments.admin import ReadOnlyMixin, admin_link
from personalisation.admin import pretty_json
from replies import services
from replies.models import Reply

Action = Reply.Action


class DateInput(forms.DateInput):
    input_type = "date"


class PauseConfirmForm(forms.Form):
    until = forms.DateField(
        widget=DateInput, label="Pause until", help_text="Dunning resumes the day after"
    )


class DisputeConfirmForm(forms.Form):
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 2, "cols": 60})
    )


class PromiseConfirmForm(forms.Form):
    promised_on = forms.DateField(widget=DateInput, label="Pays by")
    amount = forms.DecimalField(max_digits=18, decimal_places=6, min_value=0)


class HandledForm(forms.Form):
    pass


CONFIRM_FORMS = {
    Action.PAUSE: PauseConfirmForm,
    Action.DISPUTE: DisputeConfirmForm,
    Action.PROMISE: PromiseConfirmForm,
    Action.NONE: HandledForm,
}


def confirm_label(reply: Reply) -> str:
    if reply.proposed_action == Action.PAUSE:
        return f"Confirm: pause until {reply.pause_until}"
    if reply.proposed_action == Action.DISPUTE:
        return "Confirm: mark disputed"
    if reply.proposed_action == Action.PROMISE:
        return "Confirm: record the promise to pay"
    return "Done: handled"


def initial_values(reply: Reply, cases: list[Case]) -> dict:
    """The proposal as the form shows it; what the reply left open stays empty,
    except a promise's amount, which is the whole open amount unless named."""
    if reply.proposed_action == Action.PAUSE:
        return {"until": reply.pause_until}
    if reply.proposed_action == Action.DISPUTE:
        first_line = (reply.cleaned_text or reply.subject).strip().split("\n")[0]
        return {"reason": f"reply {reply.pk}: {first_line}"[:500]}
    if reply.proposed_action == Action.PROMISE:
        amount = reply.promised_amount
        if len(cases) == 1:
            invoice = cases[0].invoice
            if amount is None:
                amount = invoice.open_amount
            # In the claim's decimals, not the column's six.
            amount = round_money(amount, invoice.currency)
        return {"promised_on": reply.promised_on, "amount": amount}
    return {}


@admin.register(Reply)
class ReplyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "received_at",
        "channel",
        "sender",
        "customer",
        "claims",
        "intent",
        "confidence_display",
        "status",
        "proposal",
    ]
    list_filter = ["status", "intent", "channel", "provider"]
    list_select_related = ["customer"]
    list_per_page = 50
    search_fields = ["sender", "subject", "customer__name", "customer__external_id"]
    actions = ["triage_again"]
    change_form_template = "admin/replies/reply/change_form.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "status",
                    "queue_reason",
                    "proposal",
                    "channel",
                    "sender",
                    "received_at",
                    "subject",
                    "cleaned_display",
                ]
            },
        ),
        (
            "Match",
            {"fields": ["customer_link", "case_links", "replied_to", "match_notes"]},
        ),
        (
            "Intent",
            {
                "fields": [
                    "intent",
                    "confidence_display",
                    "scores_display",
                    "classifier_version",
                ]
            },
        ),
        ("Decision", {"fields": ["decided_by", "decided_at", "outcome"]}),
        (
            "As received",
            {
                "classes": ["collapse"],
                "fields": [
                    "text_display",
                    "provider",
                    "provider_message_id",
                    "in_reply_to",
                    "references",
                    "raw_display",
                ],
            },
        ),
    ]
    readonly_fields = [
        "status",
        "queue_reason",
        "proposal",
        "channel",
        "sender",
        "received_at",
        "subject",
        "cleaned_display",
        "customer_link",
        "case_links",
        "replied_to",
        "match_notes",
        "intent",
        "confidence_display",
        "scores_display",
        "classifier_version",
        "decided_by",
        "decided_at",
        "outcome",
        "text_display",
        "provider",
        "provider_message_id",
        "in_reply_to",
        "references",
        "raw_display",
    ]

    def get_queryset(self, request):
        cases = Case.objects.select_related("invoice").order_by("pk")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("cases", queryset=cases))
        )

    # --- Columns and fields --------------------------------------------------------

    @admin.display(description="Claims")
    def claims(self, reply):
        return ", ".join(case.invoice.number for case in reply.cases.all()) or "-"

    @admin.display(description="Confidence", ordering="confidence")
    def confidence_display(self, reply):
        return "-" if reply.confidence is None else f"{reply.confidence:.0%}"

    @admin.display(description="Proposal")
    def proposal(self, reply):
        if not reply.proposed_action:
            return "-"
        if reply.proposed_action == Action.PAUSE:
            return f"Pause until {reply.pause_until}"
        return reply.get_proposed_action_display()

    @admin.display(description="What the debtor wrote")
    def cleaned_display(self, reply):
        return _pre(reply.cleaned_text or reply.text)

    @admin.display(description="Text as received")
    def text_display(self, reply):
        return _pre(reply.text)

    @admin.display(description="Raw message or payload")
    def raw_display(self, reply):
        return _pre(reply.raw)

    @admin.display(description="Scores")
    def scores_display(self, reply):
        return pretty_json(reply.scores)

    @admin.display(description="Customer")
    def customer_link(self, reply):
        return admin_link(reply.customer)

    @admin.display(description="Cases")
    def case_links(self, reply):
        cases = list(reply.cases.all())
        if not cases:
            return "-"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} ({})</li>",
                (
                    (
                        admin_link(case, f"{case.invoice.number}"),
                        case.get_state_display(),
                    )
                    for case in cases
                ),
            ),
        )

    # --- Confirm and dismiss -------------------------------------------------------

    def has_work_case_permission(self, request) -> bool:
        return request.user.has_perm("dunning.work_case")

    def get_urls(self):
        own = [
            path(
                "<path:object_id>/confirm/",
                self.admin_site.admin_view(self.confirm_view),
                name="replies_reply_confirm",
            ),
            path(
                "<path:object_id>/dismiss/",
                self.admin_site.admin_view(self.dismiss_view),
                name="replies_reply_dismiss",
            ),
        ]
        return [*own, *super().get_urls()]

    def _confirm_form(self, reply: Reply, data=None):
        form_class = CONFIRM_FORMS[reply.proposed_action]
        cases = services.proposal_cases(reply)
        return form_class(data, initial=initial_values(reply, cases))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        reply = self.get_object(request, unquote(object_id))
        context = {"can_work": False}
        if (
            reply is not None
            and reply.is_open
            and self.has_work_case_permission(request)
        ):
            context["can_work"] = True
            context["dismiss_url"] = reverse(
                "admin:replies_reply_dismiss", args=[reply.pk]
            )
            if reply.proposed_action:
                context["confirm_form"] = self._confirm_form(reply)
                context["confirm_label"] = confirm_label(reply)
                context["confirm_url"] = reverse(
                    "admin:replies_reply_confirm", args=[reply.pk]
                )
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), **context}
        )

    def _reply_for_work(self, request, object_id) -> Reply:
        if not self.has_work_case_permission(request):
            raise PermissionDenied
        reply = self.get_object(request, unquote(object_id))
        if reply is None:
            raise Http404("No such reply.")
        return reply

    def confirm_view(self, request, object_id):
        return require_POST(self._confirm)(request, object_id)

    def _confirm(self, request, object_id):
        reply = self._reply_for_work(request, object_id)
        change_url = reverse("admin:replies_reply_change", args=[reply.pk])
        if not reply.proposed_action:
            self.message_user(request, "Nothing is proposed yet.", messages.ERROR)
            return redirect(change_url)
        form = self._confirm_form(reply, request.POST)
        if not form.is_valid():
            errors = "; ".join(
                f"{name}: {' '.join(problems)}"
                for name, problems in form.errors.items()
            )
            self.message_user(request, f"Not confirmed: {errors}", messages.ERROR)
            return redirect(change_url)
        try:
            reply = services.reply_confirm(
                reply_id=reply.pk, actor=request.user, **form.cleaned_data
            )
        except (services.ReplyError, CaseWorkError) as error:
            self.message_user(request, f"Not confirmed: {error}", messages.ERROR)
            return redirect(change_url)
        self.message_user(request, f"Reply {reply.pk}: {reply.outcome}")
        return redirect(change_url)

    def dismiss_view(self, request, object_id):
        return require_POST(self._dismiss)(request, object_id)

    def _dismiss(self, request, object_id):
        reply = self._reply_for_work(request, object_id)
        try:
            services.reply_dismiss(
                reply_id=reply.pk, actor=request.user, note=request.POST.get("note", "")
            )
        except services.ReplyError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(request, f"Reply {reply.pk} dismissed.")
        return redirect(reverse("admin:replies_reply_change", args=[reply.pk]))

    @admin.action(
        description="Classify and match the selected open replies again",
        permissions=["work_case"],
    )
    def triage_again(self, request, queryset):
        ids = list(queryset.filter(status__in=Reply.OPEN).values_list("pk", flat=True))
        for reply_id in ids:
            services.reply_triage(reply_id=reply_id)
        self.message_user(
            request,
            f"{len(ids)} replies triaged again; decided ones left as they were.",
        )


def _pre(text: str) -> str:
    return format_html('<pre style="white-space: pre-wrap">{}</pre>', text or "")
