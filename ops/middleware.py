"""Request id, default security headers and the admin login throttle."""

import re
import uuid

from django.http import HttpResponse
from django.urls import reverse

from ops import logs, throttle

# What a proxy or a client may hand in; anything else is replaced, so that a
# log line never carries a header's arbitrary text.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# Restricts nothing that the admin, the API documentation or the debtor page
# load, but stops framing, plugins, a foreign <base> and forms posting
# elsewhere. The debtor and contact pages send their own, stricter policy.
DEFAULT_CSP = (
    "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'"
)


def request_id(get_response):
    """Takes X-Request-ID from the proxy (or makes one), logs and answers it."""

    def middleware(request):
        given = request.headers.get("X-Request-ID", "")
        value = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        request.request_id = value
        token = logs.request_id.set(value)
        try:
            response = get_response(request)
        finally:
            logs.request_id.reset(token)
        response["X-Request-ID"] = value
        return response

    return middleware


def default_csp(get_response):
    def middleware(request):
        response = get_response(request)
        response.setdefault("Content-Security-Policy", DEFAULT_CSP)
        return response

    return middleware


def admin_login_throttle(get_response):
    """Refuses a login to the admin once its IP or username failed too often,
    even with the right password; the failures are counted by ops.throttle."""

    def middleware(request):
        if (
            request.method == "POST"
            and request.path == reverse("admin:login")
            and throttle.login_blocked(request, request.POST.get("username", ""))
        ):
            return HttpResponse(
                "Too many failed logins. Please wait a minute and try again.",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
        return get_response(request)

    return middleware
