"""Admin for experiments: set up as a draft, start and stop by the actions, read
the per-arm results on the change page. A started experiment's set-up is read
only: changing arms or shares midway would mix two experiments in one table."""

from django.contrib import admin, messages
from django.db.models import prefetch_related_objects
from django.utils.html import format_html, format_html_join

from core.money import format_money
from experiments.models import Arm, Assignment, Experiment
from experiments.results import experiment_results, outcomes_of
from experiments.services import ExperimentError, experiment_start, experiment_stop

SETUP_FIELDS = [
    "decides",
    "creditor",
    "step",
    "action",
    "holdout_percent",
    "allocation",
    "burn_in",
    "metric",
    "window_days",
    "min_sample",
    "max_sample",
    "p_best",
]


class ArmInline(admin.TabularInline):
    model = Arm
    extra = 0
    fields = ["key", "label", "value", "weight"]

    def _is_draft(self, obj) -> bool:
        return obj is None or obj.status == Experiment.Status.DRAFT

    def has_add_permission(self, request, obj=None):
        return self._is_draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._is_draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._is_draft(obj) and super().has_delete_permission(request, obj)


def _percent(value: float) -> str:
    return f"{value * 100:.1f} %"


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "decides",
        "creditor",
        "status",
        "allocation",
        "holdout_percent",
        "started_at",
        "leader",
        "verdict",
    ]
    list_filter = ["status", "decides", "allocation"]
    list_select_related = ["creditor"]
    search_fields = ["name"]
    autocomplete_fields = ["creditor"]
    inlines = [ArmInline]
    actions = ["start", "stop"]
    fieldsets = [
        (None, {"fields": ["name", "description"]}),
        ("Set-up", {"fields": SETUP_FIELDS}),
        (
            "Status",
            {
                "fields": [
                    "status",
                    "started_at",
                    "started_by",
                    "stopped_at",
                    "stopped_by",
                    "stop_reason",
                ]
            },
        ),
        ("Results", {"fields": ["verdict", "results_table"]}),
    ]
    status_fields = [
        "status",
        "started_at",
        "started_by",
        "stopped_at",
        "stopped_by",
        "stop_reason",
    ]

    def get_readonly_fields(self, request, obj=None):
        fixed = [*self.status_fields, "verdict", "results_table"]
        if obj is not None and obj.status != Experiment.Status.DRAFT:
            return [*SETUP_FIELDS, *fixed]
        return fixed

    def get_changelist_instance(self, request):
        # The results of the page's experiments in one set of queries.
        changelist = super().get_changelist_instance(request)
        page = list(changelist.result_list)
        prefetch_related_objects(page, "arms")
        rows = outcomes_of(page)
        for experiment in page:
            experiment.results = experiment_results(experiment, rows[experiment.pk])
        return changelist

    def _results(self, experiment):
        if experiment.pk is None:
            return None
        if not hasattr(experiment, "results"):
            experiment.results = experiment_results(experiment)
        return experiment.results

    @admin.display(description="Leader")
    def leader(self, experiment):
        results = self._results(experiment)
        if results is None or results.leader is None:
            return "-"
        row = results.leader
        return f"{row.label} (P(best) {_percent(row.p_best)})"

    @admin.display(description="Stop rule")
    def verdict(self, experiment):
        results = self._results(experiment)
        return results.verdict if results is not None else "-"

    @admin.display(description="Per arm")
    def results_table(self, experiment):
        results = self._results(experiment)
        if results is None:
            return "-"
        head = format_html_join(
            "",
            "<th>{}</th>",
            [
                (h,)
                for h in [
                    "Arm",
                    "Value",
                    "Assigned",
                    "Messages sent",
                    "Converted",
                    "Rate (95 % interval)",
                    "Uplift vs holdout (95 % interval)",
                    "P(best)",
                    "Collected",
                ]
            ],
        )
        body = format_html_join(
            "",
            '<tr class="arm-{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            [
                (
                    row.key,
                    row.label,
                    row.value or "standard",
                    row.assigned,
                    row.sent,
                    row.converted,
                    f"{_percent(row.rate)} ({_percent(row.low)} – "
                    f"{_percent(row.high)})",
                    _uplift(row.uplift) if not row.is_holdout else "",
                    _percent(row.p_best),
                    ", ".join(
                        format_money(amount, currency)
                        for currency, amount in sorted(row.collected.items())
                    )
                    or "-",
                )
                for row in results.rows
            ],
        )
        return format_html(
            '<table class="experiment-results"><thead><tr>{}</tr></thead>'
            "<tbody>{}</tbody></table>",
            head,
            body,
        )

    @admin.action(description="Start the selected experiments", permissions=["change"])
    def start(self, request, queryset):
        self._act(request, queryset, experiment_start, "started")

    @admin.action(description="Stop the selected experiments", permissions=["change"])
    def stop(self, request, queryset):
        self._act(request, queryset, experiment_stop, "stopped")

    def _act(self, request, queryset, service, done: str) -> None:
        actor = f"user:{request.user.pk}"
        count = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                service(experiment_id=pk, actor=actor)
            except ExperimentError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                count += 1
        self.message_user(request, f"{count} experiment(s) {done}.")


def _uplift(uplift) -> str:
    if uplift is None:
        return "-"
    difference, low, high = uplift
    return f"{difference * 100:+.1f} pp ({low * 100:+.1f} – {high * 100:+.1f})"


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["experiment", "customer", "arm", "method", "assigned_at"]
    list_filter = ["experiment", "method"]
    list_select_related = ["experiment", "customer", "arm"]
    search_fields = ["customer__external_id", "customer__name"]
    fields = ["experiment", "arm", "customer", "decision", "method", "assigned_at"]
    readonly_fields = fields

    # An assignment is the record of who got which answer.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
