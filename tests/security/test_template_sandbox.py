"""The template editor: a template cannot reach settings, the database or the disk.

Two walls: the checks on save refuse what is not in the documented context, and
the context at sending time holds only plain data, so even a template that got
past the checks finds nothing to call.
"""

import html
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.template import Context
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from messaging.models import MessageTemplate
from messaging.rendering import build_context
from messaging.templating import (
    CONTEXT_SCHEMA,
    check_source,
    render_source,
    sample_context,
    template_problems,
)
from tests.messaging.factories import make_message
from tests.messaging.test_templates_admin import default, form_data

NOW = datetime(2025, 4, 1, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
LINK = "http://testserver/p/" + "x" * 43 + "/"

ATTACKS = [
    ("{{ settings.SECRET_KEY }}", 'Unknown variable "settings.SECRET_KEY"'),
    (
        "{{ message.customer.creditor.__class__ }}",
        "Variables and attributes may not begin with underscores",
    ),
    ("{{ customer._meta }}", "Variables and attributes may not begin with underscores"),
    ("{{ customer.objects.all }}", '"customer" has no "objects"'),
    ("{{ customer.delete }}", '"customer" has no "delete"'),
    ("{% with c=customer %}{{ c.delete }}{% endwith %}", '"c" has no "delete"'),
    ("{{ creditor.users }}", '"creditor" has no "users"'),
    ("{% load log %}", "the tag {% load %} (line 1) is not allowed"),
    ('{% include "/etc/passwd" %}', "the tag {% include %} (line 1) is not allowed"),
    (
        '{% extends "admin/base.html" %}',
        "the tag {% extends %} (line 1) is not allowed",
    ),
    ("{% debug %}", "the tag {% debug %} (line 1) is not allowed"),
    ('{% ssi "/etc/passwd" %}', "Invalid block tag on line 1: 'ssi'"),
    ("{{ customer.name|safe }}", "the filter |safe is not allowed"),
    (
        "{% autoescape off %}{{ customer.name }}{% endautoescape %}",
        "the tag {% autoescape %} (line 1) is not allowed",
    ),
    ('{{ customer.name|rjust:"1000000000" }}', "|rjust (line 1) takes a width"),
    ('{{ customer.name|stringformat:"099999999s" }}', "|stringformat (line 1)"),
    ("{% lorem 99999999 w %}", "{% lorem %} (line 1) takes a number from 1 to 50"),
    (
        "{% for a in customer.name %}{% for b in customer.name %}{% endfor %}"
        "{% endfor %}",
        '{% for %} (line 1) loops over "customer.name", which is a str',
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "problem"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_the_admin_refuses_a_template_that_reaches_outside(admin_client, body, problem):
    """Saving shows what is wrong in the form; the stored template is unchanged."""
    template = default()
    before = template.body
    url = reverse("admin:messaging_messagetemplate_change", args=[template.pk])

    response = admin_client.post(url, form_data(template, body=body))

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert problem in page
    assert "Please correct the error" in page
    template.refresh_from_db()
    assert template.body == before
    assert settings.SECRET_KEY not in page


@pytest.mark.django_db
def test_a_new_template_with_an_attack_is_not_created(admin_client):
    count = MessageTemplate.objects.count()

    response = admin_client.post(
        reverse("admin:messaging_messagetemplate_add"),
        form_data(default(), variant="b", body='{% include "/etc/passwd" %}'),
    )

    assert response.status_code == 200
    assert MessageTemplate.objects.count() == count


PLAIN = (str, int, bool, Decimal, date, type(None))


def plain_types(value, path="context"):
    """Every leaf of the context, with the path to it, that is not plain data."""
    if isinstance(value, dict):
        for key, inner in value.items():
            assert isinstance(key, str), f"{path}: key {key!r}"
            yield from plain_types(inner, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            yield from plain_types(inner, f"{path}.{index}")
    elif not isinstance(value, PLAIN):
        yield path, type(value).__name__


@pytest.mark.django_db
def test_the_sending_context_holds_no_model_or_callable(creditor, alice, make_invoice):
    """Past the checks, a template still finds only dicts, lists and values."""
    message = make_message(alice, [(make_invoice(alice, "40.00"), 2)])

    context = build_context(message, LINK, now=NOW)

    assert list(plain_types(context)) == []
    leaked = render_source(
        "{{ customer.delete }}{{ customer.objects }}{{ creditor.users }}"
        "{{ message }}{{ settings.SECRET_KEY }}{{ items.0.invoice.delete }}",
        context,
        autoescape=False,
    )
    assert leaked == ""
    assert message.customer.__class__.objects.filter(pk=alice.pk).exists()


# --- fuzzing the template source ----------------------------------------------

FRAGMENTS = [
    "{{ ",
    " }}",
    "{% ",
    " %}",
    "{# ",
    " #}",
    "customer",
    "customer.name",
    "creditor.iban",
    "items",
    "settings",
    "SECRET_KEY",
    "__class__",
    "_meta",
    "objects",
    "delete",
    ".",
    "|",
    ":",
    '"',
    "'",
    "load",
    "include",
    "extends",
    "debug",
    "for x in ",
    "endfor",
    "if ",
    "endif",
    "with ",
    "endwith",
    "lorem",
    "rjust:",
    "safe",
    "999999999",
    "/etc/passwd",
    "\n",
]
SOURCE = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=5)), max_size=30
).map("".join)


@hypothesis_settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(source=SOURCE)
def test_any_source_is_refused_with_a_reason_or_renders_plain_data(source):
    """The check never crashes; what it accepts renders small and leaks nothing."""
    checked = check_source(source, label="Body", schema=CONTEXT_SCHEMA)

    if checked.problems:
        assert all(problem.startswith("Body") for problem in checked.problems)
        return
    context = sample_context(
        language="en", channel="email", tone="neutral", action="reminder"
    )
    text = checked.template.render(Context(context))
    assert len(text) < 100_000 + len(source) * 10
    assert settings.SECRET_KEY not in text
    assert "root:" not in text


@given(source=SOURCE)
@hypothesis_settings(max_examples=100, deadline=None)
def test_template_problems_answers_for_any_sms_source(source):
    """The form's check returns problems by field, never an exception."""
    problems = template_problems(
        action="reminder",
        channel="sms",
        tone="neutral",
        language="en",
        subject="",
        body=source,
    )

    assert set(problems) <= {"subject", "body"}
