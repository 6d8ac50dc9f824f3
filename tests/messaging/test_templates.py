"""Message templates stored in the database: checks on save, defaults, rendering."""

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string

from contact.links import unsubscribe_url
from customers.models import Customer
from dunning.models import Plan
from messaging.models import MessageTemplate
from messaging.rendering import build_context, render, template_for
from messaging.templating import CONTEXT_SCHEMA, schema_paths, sms_length

from .factories import make_message

NOW = datetime(2025, 4, 1, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
LINK = "http://testserver/p/" + "x" * 43 + "/"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "TEMPLATES.md"

GOOD_FINAL_NOTICE = (
    "Please pay {{ total }} by {{ deadline_display }}. {{ consequence }} {{ link }}"
)


def a_template(**fields) -> MessageTemplate:
    values = {
        "action": "reminder",
        "channel": "email",
        "tone": "neutral",
        "language": "en",
        "variant": "test",
        "subject": "Reminder {{ reference }}",
        "body": "Dear {{ customer.name }}, please pay {{ total }}.",
    }
    return MessageTemplate(**(values | fields))


def problems(template: MessageTemplate) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        template.full_clean()
    return refused.value.message_dict


@pytest.fixture
def dora(creditor):
    """A consumer reading English who accepts SMS."""
    return Customer.objects.create(
        creditor=creditor,
        external_id="C-DORA",
        name="Dora Dietz",
        email="dora@example.com",
        phone="+4917000000000",
        street="Am Markt 2",
        postcode="04109",
        city="Leipzig",
        language="en",
        consent_sms=True,
    )


# --- Checks on save ---------------------------------------------------------


@pytest.mark.django_db
def test_a_valid_template_passes_the_checks():
    """Known variables, loops and filters are accepted."""
    template = a_template(
        body="{% for item in items %}{{ item.number }}: {{ item.display.open }}"
        "{% if forloop.last %}.{% endif %}{% endfor %} "
        "{{ creditor.legal_name|default:creditor.name }} {{ deadline.year }}"
    )

    template.full_clean()


@pytest.mark.django_db
def test_an_unknown_variable_is_refused_with_its_name_and_the_alternatives():
    """A typo names the variable, its line and the variables there are."""
    found = problems(a_template(body="Hello,\nyou owe {{ totall }}."))

    [message] = found["body"]
    assert '"totall"' in message
    assert "line 2" in message
    assert "total, totals" in message


@pytest.mark.django_db
def test_a_path_into_a_missing_key_is_refused_with_the_keys_there_are():
    """customer.nmae is refused, listing customer.name and the other keys."""
    found = problems(a_template(subject="For {{ customer.nmae }}"))

    [message] = found["subject"]
    assert '"customer" has no "nmae"' in message
    assert "customer.name" in message


@pytest.mark.django_db
def test_a_path_through_a_loop_variable_is_checked_against_the_list_element():
    """Inside {% for item in items %}, item.display.opn is a missing key."""
    found = problems(
        a_template(body="{% for item in items %}{{ item.display.opn }}{% endfor %}")
    )

    [message] = found["body"]
    assert '"item.display" has no "opn"' in message
    assert "item.display.open" in message


@pytest.mark.django_db
def test_a_template_cannot_walk_from_the_customer_to_the_creditor_or_settings():
    """Only documented keys: no model relations, no settings."""
    found = problems(
        a_template(body="{{ customer.creditor.user_set }} {{ settings.SECRET_KEY }}")
    )

    assert '"customer" has no "creditor"' in found["body"][0]
    assert 'there is no "settings"' in found["body"][1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "source",
    [
        "{% load humanize %}{{ total }}",
        '{% include "messaging/en/intro.txt" %}',
        '{% extends "messaging/email/base.html" %}',
        "{% debug %}",
    ],
)
def test_tags_that_reach_outside_the_context_are_refused(source):
    """load, include, extends and debug are named as not allowed."""
    found = problems(a_template(body=source))

    tag = source.split()[1]
    assert f"{{% {tag} %}}" in found["body"][0]
    assert "not allowed" in found["body"][0]


@pytest.mark.django_db
def test_broken_syntax_is_refused_with_the_parser_message():
    found = problems(a_template(body="{% if total %}open"))

    assert "Correct the template syntax" in found["body"][0]
    assert "endif" in found["body"][0]


@pytest.mark.django_db
def test_an_sms_over_the_limit_is_refused_with_its_length_and_parts():
    """The check renders a realistic message and reports what is too long."""
    body = "{{ creditor.name }}: please pay {{ total }} by {{ deadline_display }}. " + (
        "Thank you very much for your attention to this matter. " * 5
    )
    found = problems(a_template(channel="sms", body=body))

    [message] = found["body"]
    assert "The SMS is too long" in message
    assert "3 parts (GSM-7)" in message or "4 parts (GSM-7)" in message
    assert "characters" in message


@pytest.mark.django_db
def test_a_compact_form_rescues_a_long_sms():
    """When {{ compact }} drops the long part, the SMS fits and is accepted."""
    body = (
        "Please pay by {{ deadline_display }}. {% if not compact %}"
        + ("x" * 400)
        + "{% endif %} {{ link }}"
    )

    a_template(channel="sms", body=body).full_clean()


def test_sms_parts_count_gsm_extension_and_ucs2_characters():
    """€ costs two GSM-7 septets; a dash forces UCS-2 with 70/67 per part."""
    assert str(sms_length("a" * 160)) == "160 characters, 1 part (GSM-7)"
    assert sms_length("a" * 161).segments == 2
    assert sms_length("€" * 80).segments == 1
    assert sms_length("€" * 81).segments == 2
    assert sms_length("–" + "a" * 69).encoding == "UCS-2"
    assert sms_length("–" + "a" * 69).segments == 1
    assert sms_length("–" + "a" * 70).segments == 2
    assert sms_length("ä ö ü ß").encoding == "GSM-7"


@pytest.mark.django_db
def test_a_ucs2_sms_over_three_parts_is_refused_below_320_characters():
    body = "{{ link }} " + "Zahlung – bitte. " * 10
    found = problems(a_template(channel="sms", body=body))

    assert "(UCS-2)" in found["body"][0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ("Please pay {{ total }}. {{ consequence }}", "state the deadline"),
        ("Please pay by {{ deadline_display }}. {{ consequence }}", "state the amount"),
        ("Please pay {{ total }} by {{ deadline_display }}.", "what happens"),
    ],
)
def test_a_final_notice_must_state_amount_deadline_and_consequence(body, missing):
    found = problems(a_template(action="final_notice", body=body))

    assert any(missing in message for message in found["body"])


@pytest.mark.django_db
def test_a_final_notice_may_name_the_consequence_in_its_own_words():
    """The keyword rule: "Inkasso" in a German final notice is a consequence."""
    a_template(
        action="final_notice",
        language="de",
        body="Bitte zahlen Sie {{ total }} bis zum {{ deadline_display }}, sonst "
        "übergeben wir die Forderung einem Inkassounternehmen.",
    ).full_clean()
    a_template(action="final_notice", body=GOOD_FINAL_NOTICE).full_clean()


@pytest.mark.django_db
def test_a_step_of_another_action_is_refused():
    step = Plan.objects.get(name="Standard").steps.get(position=1)

    found = problems(
        a_template(action="final_notice", step=step, body=GOOD_FINAL_NOTICE)
    )

    assert "choose a step with the template's action" in found["step"][0]


# --- Defaults ---------------------------------------------------------------


@pytest.mark.django_db
def test_german_and_english_defaults_exist_for_every_action_channel_and_tone():
    """96 defaults after migrate, each passing the checks on save."""
    defaults = MessageTemplate.objects.filter(step=None, variant="a", active=True)
    keys = set(defaults.values_list("action", "channel", "tone", "language"))

    expected = {
        (action, channel, tone, language)
        for action in MessageTemplate.Action.values
        for channel in ("email", "sms", "whatsapp", "letter")
        for tone in MessageTemplate.Tone.values
        for language in ("en", "de")
    }
    assert keys == expected
    for template in defaults:
        template.full_clean()


def test_every_documented_variable_is_in_the_docs():
    """docs/TEMPLATES.md names each variable of the context schema."""
    text = DOCS.read_text()

    for name, _var in schema_paths():
        assert f"`{name}`" in text, name


# --- Rendering --------------------------------------------------------------


@pytest.mark.django_db
def test_rendering_uses_an_edited_stored_template(dora, make_invoice):
    """A manager's edit of the default changes what the debtor reads."""
    MessageTemplate.objects.filter(
        action="reminder", channel="email", tone="neutral", language="en", step=None
    ).update(
        subject="Open: {{ reference }}",
        body="Hi {{ customer.name }}, {{ total }} is open until "
        "{{ deadline_display }}. <Thanks>",
    )
    message = make_message(dora, [(make_invoice(dora, "10.00", number="R-9"), 1)])

    subject, text, html = render(message, build_context(message, LINK, now=NOW))

    assert subject == "Open: R-9"
    body, footer = text.split("\n\n")
    assert body == "Hi Dora Dietz, €10.00 is open until April 8, 2025. <Thanks>"
    # Whatever the template says, the e-mail ends with the unsubscribe link
    # (its token holds the second it was signed in: the page is compared).
    prefix = unsubscribe_url(dora, "email").rsplit("/", 2)[0] + "/"
    assert re.search(rf" {re.escape(prefix)}[^/\s]+/\n$", footer), footer
    # The HTML is made from the text, escaped, inside the branded layout.
    assert "€10.00 is open until April 8, 2025. &lt;Thanks&gt;" in html
    assert "Acme GmbH" in html


@pytest.mark.django_db
def test_an_html_body_replaces_the_generated_paragraphs_and_escapes_data(
    creditor, make_invoice
):
    customer = Customer.objects.create(
        creditor=creditor, external_id="C-X", name="<i>Eve</i>", language="en"
    )
    MessageTemplate.objects.filter(
        action="reminder", channel="email", tone="neutral", language="en", step=None
    ).update(html_body="<p class='hi'>Hello <b>{{ customer.name }}</b></p>")
    message = make_message(customer, [(make_invoice(customer, "10.00"), 1)])

    _subject, text, html = render(message, build_context(message, LINK, now=NOW))

    assert "<p class='hi'>Hello <b>&lt;i&gt;Eve&lt;/i&gt;</b></p>" in html
    assert "Dear <i>Eve</i>," in text


@pytest.mark.django_db
def test_the_most_specific_template_wins(dora, make_invoice):
    """A template for the step beats one for the action; variant b for arm b."""
    step = Plan.objects.get(name="Standard").steps.get(position=1)
    for_step = a_template(step=step, variant="a", subject="Step one")
    for_step.save()
    arm_b = a_template(variant="b", subject="Arm b")
    arm_b.save()
    message = make_message(dora, [(make_invoice(dora, "10.00"), 1)])

    subject, _text, _html = render(message, build_context(message, LINK, now=NOW))
    message.decision.variant = "b"
    subject_b, _text, _html = render(message, build_context(message, LINK, now=NOW))

    assert subject == "Step one"
    assert subject_b == "Arm b"


@pytest.mark.django_db
def test_resolution_falls_back_to_the_tone_neighbour_then_english():
    chosen = dict(
        action="notice", step_id=None, channel="whatsapp", language="de", variant="c"
    )
    MessageTemplate.objects.filter(
        action="notice", language="de", tone="empathetic", channel="whatsapp"
    ).update(active=False)

    assert template_for(tone="empathetic", **chosen).tone == "neutral"
    MessageTemplate.objects.filter(action="notice", language="de").delete()
    fallback = template_for(tone="firm", **chosen)
    assert (fallback.language, fallback.channel, fallback.tone) == (
        "en",
        "whatsapp",
        "firm",
    )


@pytest.mark.django_db
def test_the_files_are_the_last_resort(alice, make_invoice):
    """Without any stored template the file wording goes out."""
    MessageTemplate.objects.all().delete()
    message = make_message(alice, [(make_invoice(alice, "10.00"), 2)])
    context = build_context(message, LINK, now=NOW)

    subject, text, html = render(message, context)

    assert subject == "Mahnung: Rechnung INV-0001"
    assert "trotz unserer Erinnerung noch keine Zahlung erhalten" in text
    assert "Stufe 2" in text
    assert html == render_to_string(
        "messaging/email/de.html", context | {"subject": subject}
    )


@pytest.mark.django_db
def test_stored_and_file_wording_agree_for_a_reminder(dora, make_invoice):
    """The shipped defaults say what the file templates said."""
    message = make_message(dora, [(make_invoice(dora, "10.00"), 1)], tone="firm")
    context = build_context(message, LINK, now=NOW)
    stored = render(message, context)[:2]

    MessageTemplate.objects.all().delete()

    assert render(message, context)[:2] == stored


@pytest.mark.django_db
def test_the_context_holds_plain_values_only(dora, make_invoice):
    """No model instance reaches a template: dicts, lists, text, numbers, dates."""
    message = make_message(dora, [(make_invoice(dora, "10.00"), 1)])
    context = build_context(message, LINK, now=NOW)
    plain = (str, int, bool, Decimal, date, type(None))

    def check(value):
        if isinstance(value, dict):
            for item in value.values():
                check(item)
        elif isinstance(value, list):
            for item in value:
                check(item)
        else:
            assert isinstance(value, plain), type(value)

    check(context)
    assert set(CONTEXT_SCHEMA) - {"subject"} <= set(context)


@pytest.mark.django_db
def test_a_final_notice_sms_names_the_consequence(dora, make_invoice):
    message = make_message(
        dora, [(make_invoice(dora, "10.00"), 4)], channel="sms", tone="firm"
    )

    _subject, text, _html = render(message, build_context(message, LINK, now=NOW))

    assert "final notice" in text
    assert "collection agency" in text
    assert text.endswith(LINK)
