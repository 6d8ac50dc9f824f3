"""The message template admin: refusing bad templates, previews for real cases."""

import html

import pytest
from django.urls import reverse

from customers.models import Customer
from dunning.models import Case
from messaging.models import Message, MessageTemplate

from .factories import make_message

pytestmark = pytest.mark.django_db


def default(action="reminder", channel="email", tone="neutral", language="en"):
    return MessageTemplate.objects.get(
        action=action,
        channel=channel,
        tone=tone,
        language=language,
        step=None,
        variant="a",
    )


def form_data(template, **changes) -> dict:
    data = {
        "action": template.action,
        "step": template.step_id or "",
        "channel": template.channel,
        "tone": template.tone,
        "language": template.language,
        "variant": template.variant,
        "subject": template.subject,
        "body": template.body,
        "html_body": template.html_body,
        "active": "on" if template.active else "",
    }
    return data | changes


@pytest.fixture
def dora(creditor):
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


def test_a_template_with_an_unknown_variable_is_refused_saying_what_to_fix(
    admin_client,
):
    """The form shows the variable, its line and the allowed ones; nothing saved."""
    template = default()
    url = reverse("admin:messaging_messagetemplate_change", args=[template.pk])

    response = admin_client.post(
        url, form_data(template, body="Dear {{ customer.nmae }},\nplease pay.")
    )

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert 'Unknown variable "customer.nmae" (line 1)' in page
    assert '"customer" has no "nmae". Use one of: customer.city' in page
    template.refresh_from_db()
    assert "nmae" not in template.body


def test_an_edit_that_passes_the_checks_is_saved(admin_client):
    template = default()
    url = reverse("admin:messaging_messagetemplate_change", args=[template.pk])

    response = admin_client.post(
        url, form_data(template, subject="Open: {{ reference }}")
    )

    assert response.status_code == 302
    template.refresh_from_db()
    assert template.subject == "Open: {{ reference }}"


def test_the_change_page_links_to_the_preview_and_lists_the_variables(admin_client):
    template = default()

    response = admin_client.get(
        reverse("admin:messaging_messagetemplate_change", args=[template.pk])
    )

    page = response.content.decode()
    preview = reverse("admin:messaging_messagetemplate_preview", args=[template.pk])
    assert f'href="{preview}"' in page
    assert "<code>items.display.open</code>" in page


def test_the_list_filters_by_channel_and_language(admin_client):
    response = admin_client.get(
        reverse("admin:messaging_messagetemplate_changelist"),
        {"channel__exact": "sms", "language__exact": "de"},
    )

    rows = list(response.context["cl"].result_list)
    assert len(rows) == 12  # 4 actions x 3 tones
    assert {(row.channel, row.language) for row in rows} == {("sms", "de")}


def test_the_email_preview_shows_subject_text_and_html_for_a_real_message(
    admin_client, dora, make_invoice
):
    message = make_message(dora, [(make_invoice(dora, "75.50", number="R-3"), 1)])
    template = default()

    response = admin_client.get(
        reverse("admin:messaging_messagetemplate_preview", args=[template.pk]),
        {"message": message.pk},
    )

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Payment reminder: invoice R-3" in page
    assert "Dear Dora Dietz," in page
    assert "Open: €75.50" in page
    assert 'id="preview-html"' in page
    assert "http://testserver/p/preview-" in page
    # A preview sends nothing and writes nothing.
    assert Message.objects.get(pk=message.pk).status == Message.Status.PLANNED
    assert not message.portallink_set.exists()


def test_the_sms_preview_shows_length_and_parts(admin_client, dora, make_invoice):
    message = make_message(
        dora, [(make_invoice(dora, "19.99", number="INV-S"), 1)], channel="sms"
    )
    template = default(channel="sms", action="final_notice", tone="firm")

    response = admin_client.get(
        reverse("admin:messaging_messagetemplate_preview", args=[template.pk]),
        {"message": message.pk},
    )

    page = html.unescape(response.content.decode())
    assert "Acme GmbH: final notice, invoice INV-S is open: €19.99." in page
    text = response.context["preview"].text
    assert f"{len(text)} characters, 2 parts (GSM-7)" in " ".join(page.split())


def test_the_letter_preview_offers_a_pdf_of_a_case(admin_client, bob_ltd, make_invoice):
    """A case without a message: the claim as the template's step lists it."""
    invoice = make_invoice(bob_ltd, "1200.00", number="INV-B1")
    case = Case.objects.create(
        invoice=invoice,
        customer=bob_ltd,
        creditor=bob_ltd.creditor,
        plan=invoice.creditor.default_plan or _standard_plan(),
        state=Case.State.IN_DUNNING,
        opened_on=invoice.due_on,
    )
    template = default(channel="letter", action="final_notice", tone="firm")
    url = reverse("admin:messaging_messagetemplate_preview", args=[template.pk])

    page = admin_client.get(url, {"case": case.pk})
    pdf = admin_client.get(
        reverse("admin:messaging_messagetemplate_preview_pdf", args=[template.pk]),
        {"case": case.pk},
    )

    content = html.unescape(page.content.decode())
    assert "Final notice: invoice INV-B1" in content
    assert "Dear Sir or Madam," in content
    assert 'id="preview-pdf"' in content
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_an_unknown_id_is_reported_on_the_form(admin_client):
    template = default()

    response = admin_client.get(
        reverse("admin:messaging_messagetemplate_preview", args=[template.pk]),
        {"message": 999999},
    )

    assert response.status_code == 200
    assert "No message with this id." in response.content.decode()
    assert response.context["preview"] is None


def _standard_plan():
    from dunning.models import Plan

    return Plan.objects.get(name="Standard", creditor=None)
