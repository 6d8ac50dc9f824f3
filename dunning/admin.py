"""Admin for plans and their steps (edited by managers) and for cases and runs.

Cases change state only through `dunning.services` (locked row, FSM transition,
audit log), so their state and steps are shown here, never edited by hand.
"""

from django import forms
from django.contrib import admin
from django.db.models import Count, F
from django_fsm_log.admin import StateLogInline

from customers.models import Channel
from dunning.models import Case, CaseStep, Plan, Run, Step
from payments.admin import ReadOnlyMixin, admin_link, facts_table, messages_list
from payments.selectors import claim_facts
from personalisation.admin import pretty_json

STEP_FIELDS = [
    "position",
    "name",
    "action",
    "days_after_due",
    "channels",
    "fee",
    "tone_floor",
    "minimum_amount",
    "payment_days",
]


class StepForm(forms.ModelForm):
    class Meta:
        model = Step
        fields = STEP_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # An empty list gets the explanation below, not a bare "required".
        self.fields["channels"].required = False

    def clean_channels(self):
        channels = self.cleaned_data.get("channels")
        known = ", ".join(Channel.values)
        if not isinstance(channels, list) or not channels:
            raise forms.ValidationError(
                f'Give the channels as a list in order of preference, e.g. ["email", '
                f'"letter"]; known channels: {known}.'
            )
        unknown = [c for c in channels if c not in Channel.values]
        if unknown:
            names = ", ".join(repr(c) for c in unknown)
            raise forms.ValidationError(
                f"Unknown channel {names}; known channels: {known}."
            )
        if len(set(channels)) != len(channels):
            raise forms.ValidationError("Each channel may appear only once.")
        return channels


class StepFormSet(forms.BaseInlineFormSet):
    def clean(self):
        # Checked before the formset's own unique check, whose message names
        # neither step.
        seen = {}
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            position = form.cleaned_data.get("position")
            if position is None:
                continue
            if position in seen:
                raise forms.ValidationError(
                    f"Two steps have position {position} ({seen[position]!r} and "
                    f"{form.cleaned_data.get('name')!r}); each step needs its own "
                    "position."
                )
            seen[position] = form.cleaned_data.get("name")
        super().clean()


class StepInline(admin.TabularInline):
    model = Step
    form = StepForm
    formset = StepFormSet
    extra = 0
    fields = STEP_FIELDS


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "creditor", "is_default", "step_count"]
    list_filter = ["is_default", "creditor"]
    list_select_related = ["creditor"]
    search_fields = ["name", "description"]
    autocomplete_fields = ["creditor"]
    inlines = [StepInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(step_count=Count("steps"))

    def save_formset(self, request, form, formset, change):
        if formset.model is Step:
            # Swapping two steps' positions would hit the unique (plan, position)
            # constraint half way through the saves; the moved and deleted steps
            # leave their old positions first (the admin view is one transaction).
            parked = [
                step_form.instance.pk
                for step_form in formset.initial_forms
                if "position" in step_form.changed_data
                or formset._should_delete_form(step_form)
            ]
            Step.objects.filter(pk__in=parked).update(position=F("position") + 10000)
        super().save_formset(request, form, formset, change)

    @admin.display(description="Steps", ordering="step_count")
    def step_count(self, plan):
        return plan.step_count


class CaseStateLogInline(StateLogInline):
    """The case's transitions as django-fsm-log recorded them."""

    verbose_name = "state change"
    verbose_name_plural = "state changes"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


class CaseStepInline(ReadOnlyMixin, admin.TabularInline):
    model = CaseStep
    extra = 0
    fields = [
        "step_label",
        "taken_on",
        "fee",
        "open_amount",
        "run",
        "actor",
        "message",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("step", "run", "case__invoice", "message_item__message")
        )

    @admin.display(description="Step")
    def step_label(self, case_step):
        return f"#{case_step.step.position} {case_step.step.name}"

    @admin.display(description="Message")
    def message(self, case_step):
        try:
            message = case_step.message_item.message
        except CaseStep.message_item.RelatedObjectDoesNotExist:
            return "-"
        return admin_link(
            message, f"{message.get_channel_display()} {message.get_status_display()}"
        )


@admin.register(Case)
class CaseAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "claim",
        "customer",
        "state",
        "current_step_label",
        "last_step_on",
        "plan",
    ]
    list_filter = ["state", "plan", "creditor"]
    list_select_related = ["invoice", "customer", "plan", "current_step"]
    search_fields = [
        "invoice__number",
        "invoice__external_id",
        "customer__name",
        "customer__external_id",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "invoice",
                    "customer",
                    "creditor",
                    "plan",
                    "state",
                    "current_step_label",
                    "last_step_on",
                    "paused_until",
                    "opened_on",
                    "closed_at",
                ]
            },
        ),
        ("Claim", {"fields": ["balance", "messages"]}),
    ]
    readonly_fields = [
        "invoice",
        "customer",
        "creditor",
        "plan",
        "state",
        "current_step_label",
        "last_step_on",
        "paused_until",
        "opened_on",
        "closed_at",
        "balance",
        "messages",
    ]
    inlines = [CaseStepInline, CaseStateLogInline]

    def _facts(self, case: Case) -> dict:
        if not hasattr(case, "_claim_facts"):
            case._claim_facts = claim_facts(case.invoice)
        return case._claim_facts

    @admin.display(description="Claim", ordering="invoice__number")
    def claim(self, case):
        return case.invoice.number

    @admin.display(description="Current step", ordering="current_step__position")
    def current_step_label(self, case):
        step = case.current_step
        return f"#{step.position} {step.name}" if step else "-"

    @admin.display(description="Balance")
    def balance(self, case):
        return facts_table(self._facts(case))

    @admin.display(description="Messages")
    def messages(self, case):
        return messages_list(self._facts(case))


@admin.register(CaseStep)
class CaseStepAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "case", "claim", "step", "taken_on", "fee", "actor", "run"]
    list_filter = ["step__plan", "taken_on"]
    list_select_related = ["case__invoice", "step__plan", "run"]
    search_fields = ["case__invoice__number", "case__invoice__external_id"]

    @admin.display(description="Claim", ordering="case__invoice__number")
    def claim(self, case_step):
        return case_step.case.invoice.number


@admin.register(Run)
class RunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "run_date", "dry_run", "actor", "started_at", "finished_at"]
    list_filter = ["dry_run"]
    fields = [
        "run_date",
        "dry_run",
        "actor",
        "started_at",
        "finished_at",
        "summary_json",
    ]
    readonly_fields = fields

    @admin.display(description="Summary")
    def summary_json(self, run):
        return pretty_json(run.summary)
