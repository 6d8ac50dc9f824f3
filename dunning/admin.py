"""Admin for plans and their steps (edited by managers) and for cases and runs.

Cases change state only through `dunning.services` (locked row, FSM transition,
audit log), so their state and steps are shown here, never edited by hand. Case
work (pause, promise to pay, dispute, write-off, handover) is offered as buttons
on the case page and as bulk actions, to users with `dunning.work_case` and only
where the case's state allows it.
"""

from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from django_fsm import can_proceed
from django_fsm_log.admin import StateLogInline

from core.money import format_money
from customers.models import Channel
from dunning import services
from dunning.filters import (
    CaseOverdueBucketFilter,
    CurrentStepFilter,
    search_by_claim,
)
from dunning.models import CallTask, Case, CaseStep, Plan, Promise, Run, Step
from dunning.plans import StepRow, plan_in_use, revise_plan, step_order_errors
from payments.admin import ReadOnlyMixin, admin_link, facts_table, messages_list
from payments.selectors import claim_facts
from personalisation.admin import pretty_json

STEP_FIELDS = [
    "position",
    "name",
    "action",
    "days",
    "counts_from",
    "channels",
    "fee",
    "fee_kind",
    "fee_percent",
    "fee_minimum",
    "fee_maximum",
    "tone_floor",
    "minimum_amount",
    "payment_days",
    "attach_letter",
    "attach_invoices",
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
        # The plan's steps as a whole, checked before the formset's own unique
        # check, whose message names neither step.
        rows = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            data = form.cleaned_data
            if data.get("position") is None or data.get("days") is None:
                continue
            rows.append(
                StepRow(
                    data["position"],
                    data.get("name", ""),
                    data["days"],
                    data.get("counts_from") or Step.CountsFrom.DUE,
                )
            )
        errors = step_order_errors(rows)
        if errors:
            raise forms.ValidationError(errors)
        super().clean()

    def revised_steps(self) -> list[tuple[int | None, dict]]:
        """The steps a new version of the plan gets: source step id, fields."""
        steps = []
        for form in self.forms:
            if not form.cleaned_data or self._should_delete_form(form):
                continue
            if form.instance.pk is None and not form.has_changed():
                continue
            fields = {name: form.cleaned_data[name] for name in STEP_FIELDS}
            steps.append((form.instance.pk, fields))
        return sorted(steps, key=lambda pair: pair[1]["position"])


class StepInline(admin.TabularInline):
    model = Step
    form = StepForm
    formset = StepFormSet
    extra = 0
    fields = STEP_FIELDS


def emptiness_filter(title: str, parameter: str, field: str, empty: str, filled: str):
    """A list filter on whether `field` is empty (first choice) or filled."""

    class Filter(admin.SimpleListFilter):
        parameter_name = parameter

        def lookups(self, request, model_admin):
            return [(parameter_value(empty), empty), (parameter_value(filled), filled)]

        def queryset(self, request, queryset):
            if self.value() in (None, ""):
                return queryset
            is_empty = self.value() == parameter_value(empty)
            return queryset.filter(**{f"{field}__isnull": is_empty})

    Filter.title = title
    return Filter


def parameter_value(label: str) -> str:
    return label.lower().replace(" ", "-")


CurrentFilter = emptiness_filter(
    "version", "version", "replaced_by", "Current", "Replaced"
)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "version",
        "version_status",
        "creditor",
        "is_default",
        "step_count",
        "case_count",
    ]
    list_filter = [CurrentFilter, "is_default", "creditor"]
    list_select_related = ["creditor"]
    search_fields = ["name", "description"]
    autocomplete_fields = ["creditor"]
    readonly_fields = ["version_history"]
    inlines = [StepInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                step_count=Count("steps", distinct=True),
                case_count=Count("case", distinct=True),
            )
        )

    def has_change_permission(self, request, obj=None):
        # A replaced version is history: its cases run on it unchanged.
        if obj is not None and not obj.is_current:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not obj.is_current:
            return False
        return super().has_delete_permission(request, obj)

    def save_related(self, request, form, formsets, change):
        steps = next(fs for fs in formsets if fs.model is Step)
        if change and steps.has_changed() and plan_in_use(form.instance):
            # Cases follow this version: the changed steps become a new one.
            revision = revise_plan(
                form.instance, steps.revised_steps(), actor=request.user.username
            )
            request._plan_revision = revision
            return
        super().save_related(request, form, formsets, change)

    def construct_change_message(self, request, form, formsets, add=False):
        revision = getattr(request, "_plan_revision", None)
        if revision is not None:
            return f"Changed steps saved as version {revision.version}."
        return super().construct_change_message(request, form, formsets, add)

    def response_change(self, request, obj):
        revision = getattr(request, "_plan_revision", None)
        if revision is None:
            return super().response_change(request, obj)
        running = Case.objects.filter(plan=obj, state__in=Case.LIVE).count()
        self.message_user(
            request,
            f"The steps were saved as version {revision.version} of {obj.name!r}: "
            f"new cases follow it; {running} running case(s) stay on version "
            f"{obj.version}.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(
            reverse("admin:dunning_plan_change", args=[revision.pk])
        )

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

    @admin.display(description="Cases", ordering="case_count")
    def case_count(self, plan):
        return plan.case_count

    @admin.display(description="Status")
    def version_status(self, plan):
        if plan.is_current:
            return "current"
        return f"replaced by version {plan.replaced_by.version}"

    @admin.display(description="Versions")
    def version_history(self, plan):
        if plan.pk is None:
            return "-"
        rows = []
        versions = [plan.current()]
        while older := Plan.objects.filter(replaced_by=versions[-1]).first():
            versions.append(older)
        for version in versions:
            cases = Case.objects.filter(plan=version, state__in=Case.LIVE).count()
            label = f"version {version.version}"
            if version.pk != plan.pk:
                label = admin_link(version, label)
            status = "current" if version.is_current else "replaced"
            rows.append(
                format_html(
                    "<li>{} ({}, {} running case(s), saved {})</li>",
                    label,
                    status,
                    cases,
                    date_format(localtime(version.created_at), "DATETIME_FORMAT"),
                )
            )
        return format_html("<ul>{}</ul>", mark_safe("".join(rows)))


class CaseStateLogInline(StateLogInline):
    """The case's transitions as django-fsm-log recorded them."""

    verbose_name = "state change"
    verbose_name_plural = "state changes"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


class CaseStepAmounts:
    """A step's fee and the open amount then, in the claim's currency."""

    @admin.display(description="Fee", ordering="fee")
    def fee_display(self, case_step):
        return format_money(case_step.fee, case_step.case.invoice.currency)

    @admin.display(description="Open amount then", ordering="open_amount")
    def open_display(self, case_step):
        return format_money(case_step.open_amount, case_step.case.invoice.currency)


class CaseStepInline(CaseStepAmounts, ReadOnlyMixin, admin.TabularInline):
    model = CaseStep
    extra = 0
    fields = [
        "step_label",
        "taken_on",
        "fee_display",
        "open_display",
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


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class ResumeForm(forms.Form):
    reason = forms.CharField(
        max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class DateInput(forms.DateInput):
    input_type = "date"


class PauseForm(ReasonForm):
    until = forms.DateField(widget=DateInput, help_text="Dunning resumes the day after")

    field_order = ["until", "reason"]

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until <= timezone.localdate():
            raise forms.ValidationError("The pause must end after today.")
        return until


class PromiseForm(forms.Form):
    promised_on = forms.DateField(
        widget=DateInput, label="Pays by", help_text="The case pauses until then"
    )
    amount = forms.DecimalField(max_digits=18, decimal_places=6, min_value=0)


@dataclass(frozen=True)
class CaseWork:
    name: str
    label: str
    transition: str
    form: type[forms.Form]
    service: object

    def allowed(self, case: Case) -> bool:
        return can_proceed(getattr(case, self.transition))


CASE_WORK = [
    CaseWork("pause", "Pause", "pause", PauseForm, services.case_pause),
    CaseWork("resume", "Resume", "resume", ResumeForm, services.case_resume),
    CaseWork("promise", "Promise to pay", "pause", PromiseForm, services.case_promise),
    CaseWork("dispute", "Mark disputed", "dispute", ReasonForm, services.case_dispute),
    CaseWork(
        "resolve_dispute",
        "Resolve dispute",
        "resolve_dispute",
        ReasonForm,
        services.case_resolve_dispute,
    ),
    CaseWork(
        "write_off", "Write off", "write_off", ReasonForm, services.case_write_off
    ),
    CaseWork(
        "hand_over", "Hand over", "hand_over", ReasonForm, services.case_hand_over
    ),
]
CASE_WORK_BY_NAME = {work.name: work for work in CASE_WORK}
# A bulk action is one transaction per case; a larger selection belongs in a job.
BULK_LIMIT = 1000


class CallTaskInline(ReadOnlyMixin, admin.TabularInline):
    model = CallTask
    extra = 0
    fields = ["due_on", "outcome", "note", "done_at", "done_by"]
    readonly_fields = fields


class PromiseInline(admin.TabularInline):
    model = Promise
    extra = 0
    fields = ["promised_on", "amount_display", "status", "resolved_on", "actor"]
    readonly_fields = fields

    @admin.display(description="Amount")
    def amount_display(self, promise):
        return format_money(promise.amount, promise.currency)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "claim",
        "customer",
        "state",
        "current_step_label",
        "last_step_on",
        "paused_until",
        "plan",
    ]
    list_filter = [
        "state",
        CurrentStepFilter,
        CaseOverdueBucketFilter,
        "creditor",
        "plan",
    ]
    list_select_related = ["invoice", "customer", "plan", "current_step"]
    # The unfiltered total would be a second count over every case.
    show_full_result_count = False
    list_per_page = 50
    actions = ["pause_cases", "resume_cases", "dispute_cases", "hand_over_cases"]
    change_form_template = "admin/dunning/case/change_form.html"
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
                    "plan_version",
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
        "plan_version",
        "state",
        "current_step_label",
        "last_step_on",
        "paused_until",
        "opened_on",
        "closed_at",
        "balance",
        "messages",
    ]
    inlines = [CaseStepInline, CallTaskInline, PromiseInline, CaseStateLogInline]

    def _facts(self, case: Case) -> dict:
        if not hasattr(case, "_claim_facts"):
            case._claim_facts = claim_facts(case.invoice)
        return case._claim_facts

    @admin.display(description="Claim", ordering="invoice__number")
    def claim(self, case):
        return case.invoice.number

    @admin.display(description="Plan")
    def plan_version(self, case):
        plan = case.plan
        status = (
            "the current version"
            if plan.is_current
            else f"replaced by version {plan.current().version} for new cases"
        )
        return format_html(
            "{} version {} ({})", admin_link(plan, plan.name), plan.version, status
        )

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

    def get_search_results(self, request, queryset, search_term):
        # The same fields as search_fields, looked up per table (fast on a
        # million claims); one case per claim, so no duplicates.
        return search_by_claim(queryset, search_term, "invoice_id"), False

    # --- Case work ---------------------------------------------------------------

    def has_work_case_permission(self, request) -> bool:
        return request.user.has_perm("dunning.work_case")

    def get_urls(self):
        work = path(
            "<path:object_id>/work/<str:work>/",
            self.admin_site.admin_view(self.case_work_view),
            name="dunning_case_work",
        )
        return [work, *super().get_urls()]

    def available_work(self, request, case: Case) -> list[CaseWork]:
        """The case work this user may do in the case's current state."""
        if case is None or not self.has_work_case_permission(request):
            return []
        return [work for work in CASE_WORK if work.allowed(case)]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        case = self.get_object(request, unquote(object_id))
        buttons = [
            (work.label, reverse("admin:dunning_case_work", args=[case.pk, work.name]))
            for work in self.available_work(request, case)
        ]
        extra_context = {**(extra_context or {}), "case_work": buttons}
        return super().change_view(request, object_id, form_url, extra_context)

    def case_work_view(self, request, object_id, work):
        if work not in CASE_WORK_BY_NAME:
            raise Http404("No such case work.")
        if not self.has_work_case_permission(request):
            raise PermissionDenied
        case = self.get_object(request, unquote(object_id))
        if case is None:
            raise Http404("No such case.")
        spec = CASE_WORK_BY_NAME[work]
        change_url = reverse("admin:dunning_case_change", args=[case.pk])
        if not spec.allowed(case):
            self.message_user(
                request,
                f"{spec.label}: not allowed while the case is "
                f"{case.get_state_display().lower()}.",
                messages.ERROR,
            )
            return redirect(change_url)

        form = spec.form(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            try:
                spec.service(case_id=case.pk, actor=request.user, **form.cleaned_data)
            except services.CaseWorkError as error:
                form.add_error(None, str(error))
            else:
                state = Case.objects.values_list("state", flat=True).get(pk=case.pk)
                self.message_user(
                    request,
                    f"{spec.label}: done; case {case.pk} is now "
                    f"{Case.State(state).label.lower()}.",
                )
                return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{spec.label}: {case.invoice.number}",
            "case": case,
            "form": form,
            "work": spec,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/dunning/case/work.html", context)

    def _bulk(self, request, queryset, work: str, form_class=None):
        """Ask for what the work needs, then apply it case by case."""
        spec = CASE_WORK_BY_NAME[work]
        form = None
        if form_class is not None:
            form = form_class(request.POST if "apply" in request.POST else None)
            if not form.is_bound or not form.is_valid():
                return TemplateResponse(
                    request,
                    "admin/dunning/case/bulk_work.html",
                    {
                        **self.admin_site.each_context(request),
                        "opts": self.opts,
                        "title": f"{spec.label}: {queryset.count()} cases",
                        "form": form,
                        "action": request.POST.get("action"),
                        "selected": request.POST.getlist(
                            admin.helpers.ACTION_CHECKBOX_NAME
                        ),
                        "select_across": request.POST.get("select_across", "0"),
                        "index": request.POST.get("index", "0"),
                    },
                )
        case_ids = list(queryset.values_list("pk", flat=True)[: BULK_LIMIT + 1])
        if len(case_ids) > BULK_LIMIT:
            self.message_user(
                request,
                f"Select at most {BULK_LIMIT} cases for one action.",
                messages.ERROR,
            )
            return None
        params = form.cleaned_data if form is not None else {}
        changed, skipped = services.cases_work(
            case_ids=case_ids, work=work, actor=request.user, **params
        )
        self.message_user(
            request,
            f"{changed} cases changed, {skipped} skipped (not allowed in their state).",
            messages.SUCCESS if changed else messages.WARNING,
        )
        return None

    @admin.action(description="Pause selected cases", permissions=["work_case"])
    def pause_cases(self, request, queryset):
        return self._bulk(request, queryset, "pause", PauseForm)

    @admin.action(description="Resume selected cases", permissions=["work_case"])
    def resume_cases(self, request, queryset):
        return self._bulk(request, queryset, "resume")

    @admin.action(description="Mark selected cases disputed", permissions=["work_case"])
    def dispute_cases(self, request, queryset):
        return self._bulk(request, queryset, "dispute", ReasonForm)

    @admin.action(
        description="Hand selected cases over to collection", permissions=["work_case"]
    )
    def hand_over_cases(self, request, queryset):
        return self._bulk(request, queryset, "hand_over", ReasonForm)


@admin.register(CaseStep)
class CaseStepAdmin(CaseStepAmounts, ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "case",
        "claim",
        "step",
        "taken_on",
        "fee_display",
        "actor",
        "run",
    ]
    list_filter = ["step__plan", "taken_on"]
    list_select_related = ["case__invoice", "step__plan", "run"]
    search_fields = ["case__invoice__number", "case__invoice__external_id"]
    fields = [
        "case",
        "step",
        "taken_on",
        "taken_at",
        "fee_display",
        "open_display",
        "run",
        "actor",
    ]
    readonly_fields = fields

    @admin.display(description="Claim", ordering="case__invoice__number")
    def claim(self, case_step):
        return case_step.case.invoice.number


class RunStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return Run.Status.choices

    def queryset(self, request, queryset):
        if self.value() not in Run.Status.values:
            return queryset
        return queryset.filter(Run.with_status(self.value()))


@admin.register(Run)
class RunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "run_date",
        "dry_run",
        "actor",
        "status_label",
        "started_at",
        "finished_at",
    ]
    list_filter = [RunStatusFilter, "dry_run"]
    fields = [
        "run_date",
        "dry_run",
        "actor",
        "status_label",
        "started_at",
        "finished_at",
        "error",
        "summary_json",
    ]
    readonly_fields = fields

    @admin.display(description="Status")
    def status_label(self, run):
        status = Run.Status(run.status())
        if status in (Run.Status.FAILED, Run.Status.UNFINISHED):
            # Stands out in the list: these runs need an operator.
            return format_html("<strong>{}</strong>", status.label.upper())
        return status.label

    @admin.display(description="Summary")
    def summary_json(self, run):
        return pretty_json(run.summary)


class CallOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(choices=CallTask.Outcome.choices)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


CallTaskOpenFilter = emptiness_filter("status", "status", "done_at", "Open", "Done")


@admin.register(CallTask)
class CallTaskAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The clerks' call list: calls the plans ask for, recorded one by one."""

    list_display = [
        "due_on",
        "claim",
        "customer",
        "phone",
        "step",
        "outcome",
        "done_by",
    ]
    list_filter = [CallTaskOpenFilter, "outcome", "due_on"]
    list_select_related = ["case__invoice", "case__customer", "case_step__step"]
    search_fields = ["case__invoice__number", "case__customer__name"]
    actions = ["record_outcome"]
    fields = [
        "case",
        "due_on",
        "phone",
        "step",
        "outcome",
        "note",
        "done_at",
        "done_by",
    ]
    readonly_fields = fields

    @admin.display(description="Claim", ordering="case__invoice__number")
    def claim(self, task):
        return admin_link(task.case, task.case.invoice.number)

    @admin.display(description="Customer", ordering="case__customer__name")
    def customer(self, task):
        return task.case.customer.name

    @admin.display(description="Phone")
    def phone(self, task):
        return task.case.customer.phone or "-"

    @admin.display(description="Step")
    def step(self, task):
        step = task.case_step.step
        return f"#{step.position} {step.name}"

    def has_work_case_permission(self, request) -> bool:
        return request.user.has_perm("dunning.work_case")

    @admin.action(
        description="Record the call for the selected tasks",
        permissions=["work_case"],
    )
    def record_outcome(self, request, queryset):
        form = CallOutcomeForm(request.POST if "apply" in request.POST else None)
        if not form.is_bound or not form.is_valid():
            return TemplateResponse(
                request,
                "admin/dunning/case/bulk_work.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.opts,
                    "title": f"Record the call: {queryset.count()} task(s)",
                    "intro": "Calls already recorded are left as they were.",
                    "form": form,
                    "action": "record_outcome",
                    "selected": request.POST.getlist(
                        admin.helpers.ACTION_CHECKBOX_NAME
                    ),
                    "select_across": request.POST.get("select_across", "0"),
                    "index": request.POST.get("index", "0"),
                },
            )
        recorded = 0
        for task in queryset.filter(done_at__isnull=True):
            services.call_task_record(
                task_id=task.pk,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                actor=request.user,
            )
            recorded += 1
        skipped = queryset.count() - recorded
        self.message_user(
            request,
            f"Recorded {recorded} call(s); {skipped} already recorded left as they "
            "were.",
            messages.SUCCESS,
        )
        return None
