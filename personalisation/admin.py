"""Admin for personalisation: decisions shown for explanation, never edited;
the model registry with promote and roll back."""

import json

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.utils.html import format_html

from personalisation.models import ChannelCost, Decision, ModelVersion
from personalisation.registry import model_promote, model_rollback


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
        "model_versions",
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


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "version",
        "kind",
        "status",
        "source",
        "roc_auc",
        "brier",
        "base_rate_brier",
        "window_start",
        "window_end",
        "trained_at",
        "activated_at",
    ]
    list_filter = ["kind", "status", "source"]
    search_fields = ["version"]
    fields = [
        "version",
        "kind",
        "status",
        "source",
        "algorithm",
        "window_start",
        "window_end",
        "features",
        "metrics_json",
        "path",
        "reason",
        "trained_at",
        "activated_at",
        "retired_at",
        "created_by",
    ]
    readonly_fields = fields
    actions = ["promote", "roll_back"]

    # Versions come from training; their status changes only by the actions.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    # A version that scored decisions stays: they name it.
    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="ROC AUC")
    def roc_auc(self, model):
        return model.metrics.get("roc_auc")

    @admin.display(description="Brier")
    def brier(self, model):
        return model.metrics.get("brier")

    @admin.display(description="Base-rate Brier")
    def base_rate_brier(self, model):
        return model.metrics.get("base_rate_brier")

    @admin.display(description="Metrics")
    def metrics_json(self, model):
        return pretty_json(model.metrics)

    # The change form is read only, so promoting has its own name for the
    # model's change permission.
    def has_promote_permission(self, request) -> bool:
        opts = self.opts
        return request.user.has_perm(
            f"{opts.app_label}.{get_permission_codename('change', opts)}"
        )

    @admin.action(
        description="Promote the selected version (one per kind)",
        permissions=["promote"],
    )
    def promote(self, request, queryset):
        chosen = list(queryset)
        if len({m.kind for m in chosen}) != len(chosen):
            self.message_user(
                request, "Choose at most one version per kind.", messages.ERROR
            )
            return
        actor = f"user:{request.user.pk}"
        promoted = sum(model_promote(model=m, actor=actor) for m in chosen)
        self.message_user(request, f"{promoted} version(s) promoted.")

    @admin.action(
        description="Roll back the selected kinds to the previous version",
        permissions=["promote"],
    )
    def roll_back(self, request, queryset):
        actor = f"user:{request.user.pk}"
        kinds = sorted(set(queryset.values_list("kind", flat=True)))
        back = [model_rollback(kind=kind, actor=actor) for kind in kinds]
        restored = sum(1 for m in back if m is not None)
        self.message_user(
            request,
            f"{len(kinds)} kind(s) rolled back, {restored} to an earlier version, "
            f"{len(kinds) - restored} to rules alone.",
        )


@admin.register(ChannelCost)
class ChannelCostAdmin(admin.ModelAdmin):
    """The cost of a contact per channel, weighed against the expected recovery
    by the channel decision (personalisation/costs.py)."""

    list_display = ["channel", "cost", "creditor", "note"]
    list_filter = ["channel", "creditor"]
    fields = ["creditor", "channel", "cost", "note"]
