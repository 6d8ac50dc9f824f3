"""The staff access log: who saw or changed which debtor's data, and when.

`StaffAccessLogMiddleware` records the admin pages that show one debtor (the
customer, their claims, cases and messages) after they answered successfully;
exports and erasures record themselves.
"""

import logging

from django.contrib import admin
from django.contrib.admin.utils import unquote

from privacy.models import AccessLog

logger = logging.getLogger(__name__)

# Admin URL name -> (model label, path from that model to the customer's id).
LOGGED_PAGES = {
    "admin:customers_customer_change": ("customers.Customer", "pk"),
    "admin:customers_customer_history": ("customers.Customer", "pk"),
    "admin:dunning_case_change": ("dunning.Case", "customer_id"),
    "admin:dunning_case_work": ("dunning.Case", "customer_id"),
    "admin:payments_invoice_change": ("payments.Invoice", "customer_id"),
    "admin:messaging_message_change": ("messaging.Message", "customer_id"),
    "admin:replies_reply_change": ("replies.Reply", "customer_id"),
}


def access_record(customer, *, user, action: str, page: str) -> AccessLog:
    """One row of the log; a command run without a user names itself."""
    return AccessLog.objects.create(
        user=user if user is not None and user.pk else None,
        username=user.get_username() if user is not None else page[:150],
        customer_id=getattr(customer, "pk", customer),
        action=action,
        page=page[:100],
    )


class StaffAccessLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is None or response.status_code >= 400:
            return response
        # A GET that redirected showed nothing (case work the state does not
        # allow, an id of no row); a POST that redirected saved.
        if request.method != "POST" and response.status_code != 200:
            return response
        page = f"{match.namespace}:{match.url_name}"
        # A user the admin sent to its login page saw nothing: the redirect
        # is not an error status, so it is told apart by the site's own check.
        if page not in LOGGED_PAGES or not admin.site.has_permission(request):
            return response
        object_id = match.kwargs.get("object_id")
        if object_id:
            self._record(request, page, unquote(object_id))
        return response

    def _record(self, request, page: str, object_id: str) -> None:
        from django.apps import apps

        label, to_customer = LOGGED_PAGES[page]
        model = apps.get_model(label)
        try:
            customer_id = (
                model.objects.filter(pk=object_id)
                .values_list(to_customer, flat=True)
                .first()
            )
        except (ValueError, TypeError):
            return
        if customer_id is None:
            return
        # A POST that answered without an error page saved or worked the record.
        changed = request.method == "POST"
        access_record(
            customer_id,
            user=request.user,
            action=AccessLog.Action.CHANGE if changed else AccessLog.Action.VIEW,
            page=page,
        )
