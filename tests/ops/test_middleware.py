"""Request ids in and out, and the headers every response carries."""

import io
import logging

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from ops import middleware
from ops.logs import RequestId


def test_log_lines_of_a_request_carry_its_given_id():
    logger = logging.getLogger("tests.ops.request")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestId())
    handler.setFormatter(logging.Formatter("%(request_id)s %(message)s"))
    logger.addHandler(handler)

    def view(request):
        logger.warning("inside")
        return HttpResponse("ok")

    try:
        response = middleware.request_id(view)(
            RequestFactory().get("/", HTTP_X_REQUEST_ID="lb-7f3a.1")
        )
    finally:
        logger.removeHandler(handler)

    assert response["X-Request-ID"] == "lb-7f3a.1"
    assert stream.getvalue() == "lb-7f3a.1 inside\n"


@pytest.mark.django_db
def test_a_missing_or_odd_request_id_is_replaced(client):
    fresh = client.get("/healthz")
    odd = client.get("/healthz", HTTP_X_REQUEST_ID="a b<script>")

    assert len(fresh["X-Request-ID"]) == 32
    assert len(odd["X-Request-ID"]) == 32
    assert odd["X-Request-ID"] != fresh["X-Request-ID"]


@pytest.mark.django_db
def test_the_admin_gets_the_default_headers(client):
    admin = client.get("/admin/login/")

    assert admin["Content-Security-Policy"] == middleware.DEFAULT_CSP
    assert admin["X-Frame-Options"] == "DENY"
    assert admin["Referrer-Policy"] == "same-origin"
    assert admin["X-Content-Type-Options"] == "nosniff"


def test_a_page_s_own_policy_is_kept():
    def view(request):
        response = HttpResponse("ok")
        response["Content-Security-Policy"] = "default-src 'none'"
        return response

    response = middleware.default_csp(view)(RequestFactory().get("/p/x/"))

    assert response["Content-Security-Policy"] == "default-src 'none'"
