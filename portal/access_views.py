"""The short address typed from a letter, and the second-factor form."""

import logging

from django.shortcuts import redirect, render

from portal import access
from portal.services import link_resolve, link_url
from portal.texts import page_language, texts_for
from portal.views import (
    FORM_PAGE_REFERRER_POLICY,
    _base_context,
    _not_found,
    portal_view,
)

logger = logging.getLogger(__name__)


def _short_code_page(request, *, error: bool = False, status: int = 200):
    language = page_language(getattr(request, "LANGUAGE_CODE", None))
    a = access.access_texts(language)
    context = {"lang": language, "t": texts_for(language), "a": a, "error": error}
    response = render(request, "portal/short_code.html", context, status=status)
    response["Referrer-Policy"] = FORM_PAGE_REFERRER_POLICY
    return response


@portal_view("GET", "HEAD", "POST")
def short_code(request):
    """SITE_URL/k/: the code and passcode from a letter open the personal link."""
    if request.method != "POST":
        return _short_code_page(request)

    code = request.POST.get("code", "")
    scope = access.code_scope(code)
    if access.attempts_blocked(request, access.SHORT_CODE, scope=scope):
        return access.too_many_attempts(request)
    found = access.short_code_resolve(code, request.POST.get("passcode", ""))
    if found is None:
        # Unknown code, wrong passcode, expired link: one answer for all.
        access.attempt_failed(request, access.SHORT_CODE, scope=scope)
        return _short_code_page(request, error=True, status=400)
    _link, token = found
    return redirect(link_url(token))


@portal_view("GET", "HEAD", "POST")
def verify(request, token):
    """The second factor a creditor asks for before the page shows details."""
    link = link_resolve(token)
    if link is None:
        # The gate in `portal_view` already counted the wrong token.
        return _not_found(request)
    kind = access.second_factor_kind(link)
    if not kind or access.second_factor_passed(request, link):
        return redirect("portal:home", token=token)

    error, status = False, 200
    if request.method == "POST":
        scope = access.link_scope(link)
        if access.attempts_blocked(request, access.SECOND_FACTOR, scope=scope):
            return access.too_many_attempts(request, link.customer.language)
        if access.second_factor_matches(link=link, value=request.POST.get("value")):
            access.second_factor_remember(request, link)
            logger.info("portal link %s: second factor passed", link.pk)
            return redirect("portal:home", token=token)
        access.attempt_failed(request, access.SECOND_FACTOR, scope=scope)
        error, status = True, 400

    context = _base_context(link)
    a = access.access_texts(context["lang"])
    context.update(
        {
            "a": a,
            "kind": kind,
            "label": a[kind],
            "intro": a["verify_intro"].format(creditor=link.customer.creditor.name),
            "error": error,
        }
    )
    response = render(request, "portal/verify.html", context, status=status)
    response["Referrer-Policy"] = FORM_PAGE_REFERRER_POLICY
    return response


verify.before_second_factor = True
