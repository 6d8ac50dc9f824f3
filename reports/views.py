"""The results dashboard page: the filter form, the figures per currency, charts."""

from datetime import timedelta
from decimal import Decimal

from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone

from core.money import format_money
from customers.models import Creditor
from payments.models import Invoice
from reports import charts, selectors
from reports.selectors import AGING_BUCKETS, BREAKDOWNS, FUNNEL_STAGES, Scope

DEFAULT_DAYS = 90

# Shown as the figures' tooltips and footnotes; docs/REPORTS.md says the same.
DEFINITIONS = {
    "collection_rate": "Principal collected by the period's end from the claims "
    "whose case opened in the period, over their open principal when the case "
    "opened less what was credited since.",
    "count_rate": "Claims whose case opened in the period and that were paid in "
    "full by its end, over those claims (claims credited to zero left out).",
    "dso": "Days sales outstanding, simple method: open balance at the period's "
    "end over the principal invoiced in the period, times the period's days.",
    "days_to_pay": "Days from the due date to the day the claim was paid in full, "
    "over the claims paid in full in the period (negative: paid early).",
    "aging": "Open balance at the period's end (principal, fees and interest) "
    "by days past the invoiced due date on that day; current is not yet overdue.",
    "collected": "Payments less reversals booked in the period on claims that "
    "have a dunning case.",
    "costs": "Messages sent in the period times their channel's cost per contact, "
    "in the creditor's currency.",
    "cost_per_unit": "Contact costs over the money collected in the period, in the "
    "same currency.",
    "funnel": "Messages sent in the period. Opened: an opening, a click or a visit "
    "was recorded; clicked: a click or a visit; visited: the debtor page was "
    "opened from the message's link; paid: one of its claims was paid in full "
    "between the message and the period's end. Rates are of the messages sent.",
}


NOTE_LABELS = {
    "collection_rate": "Collection rate",
    "count_rate": "Claims paid in full",
    "dso": "DSO",
    "days_to_pay": "Days to pay",
    "aging": "Aging",
    "collected": "Collected",
    "costs": "Contact costs",
    "cost_per_unit": "Cost per unit collected",
    "funnel": "Funnel",
}


class ResultsFilter(forms.Form):
    creditor = forms.ModelChoiceField(
        queryset=Creditor.objects.none(), required=False, empty_label="All creditors"
    )
    date_from = forms.DateField(
        label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    currency = forms.ChoiceField(required=False)

    def __init__(self, data, *, creditors, currencies):
        today = timezone.localdate()
        data = data.copy()
        data.setdefault("date_to", today.isoformat())
        data.setdefault(
            "date_from", (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
        )
        super().__init__(data)
        self.fields["creditor"].queryset = creditors
        self.fields["currency"].choices = [("", "All currencies")] + [
            (code, code) for code in currencies
        ]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("The period ends before it starts.")
        return cleaned


def _percent(rate: Decimal | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def _money(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency)


def _currency_figures(scope: Scope) -> list[dict]:
    rates = selectors.collection_rates(scope)
    aging = selectors.aging(scope)
    sales = selectors.credit_sales(scope)
    weeks = selectors.collections_per_week(scope)
    costs = selectors.contact_costs(scope)
    currencies = sorted({*rates, *aging, *sales, *weeks, *costs})
    figures = []
    for currency in currencies:
        rate = rates.get(currency, selectors.CollectionRate())
        buckets = aging.get(currency, selectors.Aging())
        receivables = buckets.total
        collected = sum((total for _, total in weeks.get(currency, [])), Decimal(0))
        cost = costs.get(currency, Decimal(0))
        dso = selectors.dso(receivables, sales.get(currency, Decimal(0)), scope.days)
        aging_rows = [
            (
                label,
                _money(buckets.amounts.get(key, Decimal(0)), currency),
                buckets.counts.get(key, 0),
            )
            for key, label, *_ in AGING_BUCKETS
        ]
        week_points = [
            (week.isoformat(), total, _money(total, currency))
            for week, total in weeks.get(currency, [])
        ]
        figures.append(
            {
                "currency": currency,
                "collection_rate": _percent(rate.rate),
                "count_rate": _percent(rate.count_rate),
                "collectable": _money(rate.collectable, currency),
                "collected_cohort": _money(rate.collected, currency),
                "cases": rate.cases,
                "paid_cases": rate.paid_cases,
                "dso": "—" if dso is None else f"{dso} days",
                "receivables": _money(receivables, currency),
                "sales": _money(sales.get(currency, Decimal(0)), currency),
                "collected": _money(collected, currency),
                "costs": _money(cost, currency),
                "cost_per_unit": _cost_per_unit(cost, collected, currency),
                "aging_rows": aging_rows,
                "aging_chart": charts.bar_chart(
                    f"Aging of open {currency} balances",
                    [
                        (label, buckets.amounts.get(key, Decimal(0)), text)
                        for (key, *_), (label, text, _) in zip(
                            AGING_BUCKETS, aging_rows, strict=True
                        )
                    ],
                ),
                "collections_chart": charts.line_chart(
                    f"{currency} collected per week", week_points
                )
                if week_points
                else None,
            }
        )
    return figures


def _cost_per_unit(cost: Decimal, collected: Decimal, currency: str) -> str:
    ratio = selectors.cost_per_unit(cost, collected)
    if ratio is None:
        return "—"
    return f"{ratio} {currency} per {currency} collected"


def _funnel_context(scope: Scope) -> dict:
    funnel = selectors.funnel(scope)

    def row(funnel_row):
        return {
            "label": funnel_row.label,
            "cells": [
                (funnel_row.counts[stage], _percent(funnel_row.rate(stage)))
                for stage in FUNNEL_STAGES
            ],
        }

    total = funnel.total
    return {
        "stages": FUNNEL_STAGES,
        "total": row(total),
        "chart": charts.bar_chart(
            "Funnel of the messages sent",
            [
                (
                    stage,
                    Decimal(total.counts[stage]),
                    f"{total.counts[stage]} ({_percent(total.rate(stage))})",
                )
                for stage in FUNNEL_STAGES
            ],
        ),
        "breakdowns": [
            (BREAKDOWNS[key][1], [row(r) for r in rows])
            for key, rows in funnel.breakdowns.items()
        ],
    }


def results_view(request, *, admin_site):
    """The dashboard, for staff who hold `reports.view_results`."""
    if not request.user.has_perm("reports.view_results"):
        raise PermissionDenied
    creditors = Creditor.objects.order_by("name").only("id", "name", "default_currency")
    currencies = (
        Invoice.objects.order_by("currency")
        .values_list("currency", flat=True)
        .distinct()
    )
    form = ResultsFilter(request.GET, creditors=creditors, currencies=list(currencies))
    context = {
        **admin_site.each_context(request),
        "title": "Results",
        "form": form,
        "definitions": DEFINITIONS,
        "notes": [(NOTE_LABELS[key], text) for key, text in DEFINITIONS.items()],
    }
    if form.is_valid():
        creditor = form.cleaned_data["creditor"]
        scope = Scope(
            date_from=form.cleaned_data["date_from"],
            date_to=form.cleaned_data["date_to"],
            creditor_id=creditor.pk if creditor else None,
            currency=form.cleaned_data["currency"],
        )
        context.update(
            scope=scope,
            currencies=_currency_figures(scope),
            days_to_pay=selectors.days_to_pay(scope),
            funnel=_funnel_context(scope),
        )
    return TemplateResponse(request, "reports/results.html", context)
