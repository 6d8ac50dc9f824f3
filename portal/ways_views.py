"""The debtor page's ways out: instalments, pay later, already paid, dispute,
contact preferences and the language switch.

Each view resolves the link, calls one service of `portal.ways_out` and sends
the debtor back to the overview with a notice (post/redirect/get), or shows the
form again with the refusal. Business rules live in the services.
"""

from datetime import date

from babel.dates import format_date
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse

from dunning.models import Case
from portal import ways_out
from portal.services import link_resolve
from portal.texts import TEXTS, texts_for
from portal.views import (
    ACTOR_DEBTOR,
    FORM_PAGE_REFERRER_POLICY,
    _base_context,
    _money,
    _not_found,
    portal_view,
)
from portal.ways_out import WayOutError, page_language_of


def claim_ways(link, token: str, invoices, language: str, t: dict) -> dict:
    """Per claim id, the ways out its case allows, for the overview page.

    One query for the cases of all listed claims.
    """
    states = dict(
        Case.objects.filter(invoice__in=invoices).values_list("invoice_id", "state")
    )
    # All claims on the page are the link's customer's: one creditor.
    creditor = link.customer.creditor
    today = creditor.local_today()
    latest = ways_out.promise_latest_date(creditor)
    ways = {}
    for invoice in invoices:
        if states.get(invoice.id) not in ways_out.WAYS_OUT_STATES:
            continue
        months = ways_out.instalment_months_allowed(invoice, creditor)
        ways[invoice.id] = {
            "title": t["ways_out"].format(number=invoice.number),
            "months": [
                (m, t["instalments_month_option"].format(months=m)) for m in months
            ],
            "instalments_url": reverse("portal:instalments", args=[token, invoice.id]),
            "promise_url": (
                reverse("portal:promise", args=[token, invoice.id])
                if latest > today
                else ""
            ),
            "promise_min": date.fromordinal(today.toordinal() + 1).isoformat(),
            "promise_max": latest.isoformat(),
            "promise_hint": t["promise_hint"].format(
                date=format_date(latest, "long", locale=language)
            ),
            "already_paid_url": reverse(
                "portal:already_paid", args=[token, invoice.id]
            ),
            "dispute_url": reverse("portal:dispute", args=[token, invoice.id]),
        }
    return ways


def languages(t: dict, current: str) -> list[dict]:
    return [
        {
            "code": code,
            "name": t[f"language_{code}"],
            "label": TEXTS[code]["switch_language"].format(
                language=TEXTS[code][f"language_{code}"]
            ),
            "current": code == current,
        }
        for code in sorted(TEXTS)
    ]


def _back_home(request, token, notice: str):
    messages.success(request, notice)
    return redirect("portal:home", token=token)


def _refused_home(request, token, error: str):
    messages.error(request, error)
    return redirect("portal:home", token=token)


@portal_view("POST")
def language(request, token):
    link = link_resolve(token)
    if link is None:
        return _not_found(request)
    ways_out.language_switch(link=link, language=request.POST.get("language", ""))
    return redirect("portal:home", token=token)


def _schedule_context(link, token, invoice, schedule, language, t) -> dict:
    currency = invoice.currency
    return {
        "invoice": invoice,
        "title": t["schedule_title"].format(number=invoice.number),
        "months": schedule.months,
        "rows": [
            {
                "position": row.position,
                "due_on": format_date(row.due_on, "medium", locale=language),
                "amount": _money(row.amount, currency, language),
            }
            for row in schedule.rows
        ],
        "interest": (
            _money(schedule.interest, currency, language) if schedule.interest else ""
        ),
        "total": _money(schedule.total, currency, language),
        "sepa_consent": t["sepa_consent"].format(creditor=invoice.creditor.name),
        "confirm_url": reverse("portal:instalments", args=[token, invoice.id]),
        "home_url": reverse("portal:home", args=[token]),
    }


@portal_view("GET", "HEAD", "POST")
def instalments(request, token, invoice_id):
    """GET shows the schedule for the chosen months; POST confirms it."""
    link = link_resolve(token)
    if link is None:
        return _not_found(request)
    context = _base_context(link)
    language, t = context["lang"], context["t"]
    invoice = (
        link.customer.invoices.select_related("creditor")
        .filter(pk=invoice_id, open_amount__gt=0)
        .first()
    )
    if invoice is None:
        return _not_found(request)
    data = request.POST if request.method == "POST" else request.GET
    try:
        months = int(data.get("months", ""))
    except ValueError:
        months = 0

    error = ""
    if request.method == "POST":
        try:
            ways_out.instalments_agree(
                link=link,
                invoice_id=invoice.id,
                months=months,
                iban=request.POST.get("iban", ""),
                account_holder=request.POST.get("account_holder", ""),
                actor=ACTOR_DEBTOR,
            )
        except WayOutError as exc:
            error = str(exc)
        else:
            return _back_home(request, token, t["plan_agreed"])

    try:
        if request.method == "POST":
            # The refused confirmation shows the same schedule again.
            schedule = ways_out.instalment_schedule(
                invoice=invoice,
                months=months,
                today=invoice.creditor.local_today(),
                t=t,
            )
        else:
            schedule = ways_out.instalment_preview(
                link=link, invoice_id=invoice.id, months=months
            )
    except WayOutError as exc:
        return _refused_home(request, token, str(exc))
    context.update(_schedule_context(link, token, invoice, schedule, language, t))
    context.update(
        {
            "error": error,
            "iban": request.POST.get("iban", ""),
            "account_holder": request.POST.get("account_holder", "")
            or link.customer.name,
        }
    )
    response = render(
        request, "portal/instalments.html", context, status=400 if error else 200
    )
    response["Referrer-Policy"] = FORM_PAGE_REFERRER_POLICY
    return response


def _parse_date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        return None


@portal_view("POST")
def promise(request, token, invoice_id):
    link = link_resolve(token)
    if link is None:
        return _not_found(request)
    t = texts_for(page_language_of(link))
    promised_on = _parse_date(request.POST.get("promised_on", ""))
    if promised_on is None:
        return _refused_home(request, token, t["promise_refused"])
    try:
        ways_out.promise_make(
            link=link,
            invoice_id=invoice_id,
            promised_on=promised_on,
            actor=ACTOR_DEBTOR,
        )
    except WayOutError as exc:
        return _refused_home(request, token, str(exc))
    shown = format_date(promised_on, "long", locale=page_language_of(link))
    return _back_home(request, token, t["promise_made"].format(date=shown))


def _report(request, token, service, done: str, **fields):
    """A way out that only records what the debtor said, then the overview."""
    link = link_resolve(token)
    if link is None:
        return _not_found(request)
    t = texts_for(page_language_of(link))
    try:
        service(link=link, actor=ACTOR_DEBTOR, **fields)
    except WayOutError as exc:
        return _refused_home(request, token, str(exc))
    return _back_home(request, token, t[done])


@portal_view("POST")
def already_paid(request, token, invoice_id):
    return _report(
        request,
        token,
        ways_out.already_paid_report,
        "already_paid_done",
        invoice_id=invoice_id,
        note=request.POST.get("note", ""),
    )


@portal_view("POST")
def dispute(request, token, invoice_id):
    return _report(
        request,
        token,
        ways_out.dispute_open,
        "dispute_done",
        invoice_id=invoice_id,
        reason=request.POST.get("reason", ""),
    )


CHANNELS = ["email", "sms", "whatsapp", "letter"]


@portal_view("GET", "HEAD", "POST")
def preferences(request, token):
    link = link_resolve(token)
    if link is None:
        return _not_found(request)
    error = ""
    if request.method == "POST":
        try:
            ways_out.preferences_save(
                link=link,
                channel=request.POST.get("channel", ""),
                contact_from=request.POST.get("contact_from", ""),
                contact_until=request.POST.get("contact_until", ""),
                language=request.POST.get("language", ""),
                actor=ACTOR_DEBTOR,
            )
        except WayOutError as exc:
            error = str(exc)
        else:
            t = texts_for(page_language_of(link))
            return _back_home(request, token, t["preferences_saved"])

    context = _base_context(link)
    t, customer = context["t"], link.customer
    context.update(
        {
            "error": error,
            "channels": [
                {
                    "code": code,
                    "name": t[f"channel_{code}"],
                    "selected": customer.preferred_channel == code,
                    "reachable": customer.has_address_for(code),
                }
                for code in CHANNELS
            ],
            "contact_from": (
                customer.contact_from.strftime("%H:%M") if customer.contact_from else ""
            ),
            "contact_until": (
                customer.contact_until.strftime("%H:%M")
                if customer.contact_until
                else ""
            ),
            "message_languages": [
                (code, t[f"language_{code}"], customer.language == code)
                for code in sorted(TEXTS)
            ],
            "save_url": reverse("portal:preferences", args=[token]),
            "home_url": reverse("portal:home", args=[token]),
        }
    )
    response = render(
        request, "portal/preferences.html", context, status=400 if error else 200
    )
    response["Referrer-Policy"] = FORM_PAGE_REFERRER_POLICY
    return response
