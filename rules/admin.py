"""Admin for rule sets and rules, and the explain and dry-run pages.

Managers enter a rule as inline condition rows (attribute, operator, value) and
effect fields; nothing they type is evaluated as code. Only draft sets change;
activating a draft (an action, or the button on its dry-run page) retires the
set active before in the same scope.
"""

from datetime import date

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from customers.models import Channel, Customer
from payments.models import Invoice
from rules import services
from rules.attributes import ATTRIBUTES, OPERATORS, attribute_choices, operator_choices
from rules.engine import effects_text
from rules.models import Condition, PaymentOption, Rule, RuleSet
from rules.validation import validate_conditions


def actor_of(request) -> str:
    return f"user:{request.user.pk}"


def _permission(action: str, model) -> str:
    opts = model._meta
    return f"{opts.app_label}.{get_permission_codename(action, opts)}"


# --- Rules ----------------------------------------------------------------


class ConditionForm(forms.ModelForm):
    attribute = forms.ChoiceField(choices=[("", "---------")] + attribute_choices())
    operator = forms.ChoiceField(choices=[("", "---------")] + operator_choices())

    class Meta:
        model = Condition
        fields = ["group", "attribute", "operator", "value"]
        widgets = {"group": forms.NumberInput(attrs={"style": "width: 4em"})}


class ConditionFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(form.errors for form in self.forms):
            # Row errors show at their rows; the group check needs clean rows.
            return
        rows = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or self._should_delete_form(form):
                continue
            rows.append(
                (data["group"], data["attribute"], data["operator"], data["value"])
            )
        validate_conditions(rows)


class ConditionInline(admin.TabularInline):
    model = Condition
    form = ConditionForm
    formset = ConditionFormSet
    extra = 3
    fields = ["group", "attribute", "operator", "value"]
    verbose_name = "condition"
    verbose_name_plural = (
        "Conditions: rows of one group must all hold (AND); any group may match "
        "(OR). Lists are comma separated; yes/no for yes-or-no attributes."
    )

    # Condition rows are part of their rule: whoever may add or change the rule
    # edits its rows. The roles grant rule permissions, not condition ones, and
    # without this a manager would get a rule form without conditions.
    def _may_edit_rule(self, request, rule) -> bool:
        if rule is None:
            return request.user.has_perm(_permission("add", Rule))
        return rule.rule_set.is_editable and request.user.has_perm(
            _permission("change", Rule)
        )

    def has_add_permission(self, request, obj=None):
        return self._may_edit_rule(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._may_edit_rule(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_edit_rule(request, obj)


class RuleForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only these channels (empty: the plan's channels)",
    )
    payment_options = forms.MultipleChoiceField(
        choices=PaymentOption.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Offer exactly these ways to pay (empty: personalisation decides)",
    )

    class Meta:
        model = Rule
        fields = [
            "rule_set",
            "priority",
            "name",
            "enabled",
            "description",
            "plan",
            "tone",
            "tone_cap",
            "channels",
            "preferred_channel",
            "payment_options",
            "contact_policy",
            "waive_fee",
            "skip_step",
            "hold_for_review",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "rule_set" in self.fields:
            self.fields["rule_set"].queryset = RuleSet.objects.filter(
                status=RuleSet.Status.DRAFT
            ).select_related("creditor")

    def clean_channels(self):
        # Kept in the order channels are listed, which is the order shown.
        chosen = self.cleaned_data["channels"]
        return [c for c in Channel.values if c in chosen]

    def clean_payment_options(self):
        chosen = self.cleaned_data["payment_options"]
        return [o for o in PaymentOption.values if o in chosen]


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    form = RuleForm
    inlines = [ConditionInline]
    list_display = [
        "name",
        "priority",
        "rule_set",
        "enabled",
        "conditions_text",
        "effects",
    ]
    list_filter = ["rule_set__status", "enabled", "rule_set"]
    list_select_related = ["rule_set__creditor", "plan", "contact_policy"]
    search_fields = ["name", "description"]
    ordering = ["rule_set", "priority", "id"]
    fieldsets = [
        (None, {"fields": ["rule_set", "priority", "name", "enabled", "description"]}),
        (
            "Effects",
            {
                "fields": [
                    "plan",
                    "tone",
                    "tone_cap",
                    "channels",
                    "preferred_channel",
                    "payment_options",
                    "contact_policy",
                    "waive_fee",
                    "skip_step",
                    "hold_for_review",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("conditions")

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("priority", 100)
        return initial

    def has_change_permission(self, request, obj=None):
        if obj is not None and not obj.rule_set.is_editable:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not obj.rule_set.is_editable:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="Conditions")
    def conditions_text(self, rule):
        groups: dict[int, list[str]] = {}
        for condition in rule.conditions.all():
            groups.setdefault(condition.group, []).append(str(condition))
        if not groups:
            return "every claim"
        return " OR ".join(
            "(" + " AND ".join(rows) + ")" for _, rows in sorted(groups.items())
        )

    @admin.display(description="Effects")
    def effects(self, rule):
        return effects_text(rule)

    def response_post_save_add(self, request, obj):
        return HttpResponseRedirect(
            reverse("admin:rules_ruleset_change", args=[obj.rule_set_id])
        )

    def response_post_save_change(self, request, obj):
        return HttpResponseRedirect(
            reverse("admin:rules_ruleset_change", args=[obj.rule_set_id])
        )


# --- Rule sets ------------------------------------------------------------


class RuleInline(admin.TabularInline):
    """The set's rules, read here; each opens in its own form with conditions."""

    model = Rule
    extra = 0
    fields = ["priority", "rule_link", "enabled", "conditions_text", "effects"]
    readonly_fields = fields
    show_change_link = False
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("plan", "contact_policy")
            .prefetch_related("conditions")
        )

    @admin.display(description="Rule")
    def rule_link(self, rule):
        url = reverse("admin:rules_rule_change", args=[rule.pk])
        return format_html('<a href="{}">{}</a>', url, rule.name)

    @admin.display(description="Conditions")
    def conditions_text(self, rule):
        return RuleAdmin.conditions_text(None, rule)

    @admin.display(description="Effects")
    def effects(self, rule):
        return effects_text(rule)


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "version",
        "creditor",
        "status",
        "rule_count",
        "activated_at",
        "activated_by",
        "dry_run_link",
    ]
    list_filter = ["status", "creditor"]
    list_select_related = ["creditor"]
    search_fields = ["name", "description"]
    autocomplete_fields = ["creditor"]
    actions = ["activate", "copy_as_draft"]
    inlines = [RuleInline]
    readonly_fields = [
        "status",
        "version",
        "tools",
        "created_by",
        "created_at",
        "activated_by",
        "activated_at",
        "retired_by",
        "retired_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "creditor", "description", "tools"]}),
        (
            "Versions",
            {
                "fields": [
                    "status",
                    "version",
                    "created_by",
                    "created_at",
                    "activated_by",
                    "activated_at",
                    "retired_by",
                    "retired_at",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(rule_count=Count("rules"))

    def has_change_permission(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = actor_of(request)
        super().save_model(request, obj, form, change)

    @admin.display(description="Rules", ordering="rule_count")
    def rule_count(self, rule_set):
        return rule_set.rule_count

    @admin.display(description="Dry-run")
    def dry_run_link(self, rule_set):
        url = reverse("admin:rules_ruleset_dry_run", args=[rule_set.pk])
        return format_html('<a href="{}">Dry-run</a>', url)

    @admin.display(description="Tools")
    def tools(self, rule_set):
        if not rule_set.pk:
            return "Save the set first, then add rules."
        links = [
            (reverse("admin:rules_ruleset_dry_run", args=[rule_set.pk]), "Dry-run")
        ]
        if rule_set.is_editable:
            add = reverse("admin:rules_rule_add") + f"?rule_set={rule_set.pk}"
            links.insert(0, (add, "Add rule"))
        return format_html_join(" · ", '<a href="{}" class="rules-tool">{}</a>', links)

    @admin.action(
        description="Activate the selected draft (retires the active set)",
        permissions=["change"],
    )
    def activate(self, request, queryset):
        done = 0
        for rule_set in queryset.order_by("id"):
            try:
                services.rule_set_activate(
                    rule_set_id=rule_set.pk, actor=actor_of(request)
                )
                done += 1
            except ValidationError as exc:
                self.message_user(
                    request, f"{rule_set}: {' '.join(exc.messages)}", messages.ERROR
                )
        if done:
            self.message_user(request, f"Activated {done} rule set(s).")

    @admin.action(description="Copy as a new draft", permissions=["add"])
    def copy_as_draft(self, request, queryset):
        for rule_set in queryset:
            services.rule_set_copy(rule_set_id=rule_set.pk, actor=actor_of(request))
        self.message_user(request, f"Copied {queryset.count()} rule set(s) as drafts.")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/dry-run/",
                view(self.dry_run_view),
                name="rules_ruleset_dry_run",
            ),
            path(
                "<int:pk>/activate/",
                view(self.activate_view),
                name="rules_ruleset_activate",
            ),
            path(
                "explain/claim/<int:invoice_id>/",
                view(self.explain_claim_view),
                name="rules_explain_claim",
            ),
            path(
                "explain/customer/<int:customer_id>/",
                view(self.explain_customer_view),
                name="rules_explain_customer",
            ),
        ] + super().get_urls()

    # --- pages ---

    def _day(self, request) -> date | None:
        raw = request.GET.get("on") or ""
        try:
            return date.fromisoformat(raw) if raw else None
        except ValueError:
            self.message_user(
                request,
                f"{raw!r} is not a date (YYYY-MM-DD); using today.",
                messages.WARNING,
            )
            return None

    def _draft(self, request) -> RuleSet | None:
        raw = request.GET.get("rule_set")
        if not raw or not raw.isdigit():
            return None
        return RuleSet.objects.filter(pk=int(raw)).first()

    def _rule_set(self, request, pk) -> RuleSet:
        # Through the admin's queryset, so a set the list hides is not found.
        rule_set = self.get_object(request, str(pk))
        if rule_set is None:
            raise Http404("No such rule set.")
        return rule_set

    def dry_run_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        rule_set = self._rule_set(request, pk)
        on = self._day(request)
        against_none = request.GET.get("against") == "none"
        result = services.dry_run(
            rule_set_id=rule_set.pk, on=on, against_no_rules=against_none
        )
        counts = [
            (name, _count_rows(result.baseline[name], result.draft[name]))
            for name in services.COUNTED
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Dry-run of {rule_set}",
            "opts": self.model._meta,
            "rule_set": rule_set,
            "result": result,
            "counts": counts,
            "on": on,
            "against_none": against_none,
            "can_activate": rule_set.is_editable
            and self.has_change_permission(request),
        }
        return TemplateResponse(request, "rules/dry_run.html", context)

    def activate_view(self, request, pk):
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        rule_set = self._rule_set(request, pk)
        try:
            rule_set = services.rule_set_activate(
                rule_set_id=rule_set.pk, actor=actor_of(request)
            )
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(
                reverse("admin:rules_ruleset_dry_run", args=[pk])
            )
        self.message_user(request, f"{rule_set} is now active.")
        return HttpResponseRedirect(reverse("admin:rules_ruleset_changelist"))

    def _readable(self, request, model):
        """The rows of `model` the user may open in its own admin, or refused."""
        model_admin = self.admin_site._registry[model]
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        return model_admin.get_queryset(request)

    def _explain(self, request, invoices, subject, back_url, creditor):
        draft = self._draft(request)
        # The creditor's today also when no open claim is there to take it from.
        on = self._day(request) or creditor.local_today()
        plans = services.explain_claims(invoices, on=on, rule_set=draft)
        context = {
            **self.admin_site.each_context(request),
            "title": f"What would happen now? {subject}",
            "opts": self.model._meta,
            "plans": plans,
            "subject": subject,
            "back_url": back_url,
            "draft": draft,
            "on": on,
            "rule_sets": RuleSet.objects.filter(status=RuleSet.Status.DRAFT),
            "operators": OPERATORS,
            "attributes": ATTRIBUTES,
        }
        return TemplateResponse(request, "rules/explain.html", context)

    def explain_claim_view(self, request, invoice_id):
        invoice = get_object_or_404(
            self._readable(request, Invoice).select_related("customer", "creditor"),
            pk=invoice_id,
        )
        back = reverse("admin:payments_invoice_change", args=[invoice.pk])
        return self._explain(
            request, [invoice], f"claim {invoice.number}", back, invoice.creditor
        )

    def explain_customer_view(self, request, customer_id):
        customer = get_object_or_404(
            self._readable(request, Customer).select_related("creditor"),
            pk=customer_id,
        )
        invoices = (
            self._readable(request, Invoice)
            .filter(customer=customer, status=Invoice.Status.OPEN, open_amount__gt=0)
            .select_related("customer", "creditor")
            .order_by("due_on", "id")
        )
        back = reverse("admin:customers_customer_change", args=[customer.pk])
        return self._explain(
            request, invoices, f"customer {customer.name}", back, customer.creditor
        )


def _count_rows(before: dict, after: dict) -> list[tuple[str, int, int, int]]:
    keys = sorted(set(before) | set(after))
    return [
        (
            key,
            before.get(key, 0),
            after.get(key, 0),
            after.get(key, 0) - before.get(key, 0),
        )
        for key in keys
    ]
