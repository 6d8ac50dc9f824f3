"""E-mail attachments per step (letter, invoice copies) and extra recipients."""

import subprocess
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, ExtraRecipient
from dunning.models import Case, Plan
from messaging.models import Message
from messaging.services import dispatch_due
from payments.models import Invoice
from tests.admin.helpers import change_form_data, plan_change_data

from .factories import SCHEDULED_AT, make_message, standard_step

NOW = SCHEDULED_AT + timedelta(hours=1)
# A stand-in for a creditor's scanned invoice: bytes that must arrive unchanged.
ORIGINAL_PDF = b"%PDF-1.4\n% original invoice of the creditor\n" + bytes(range(256))


@pytest.fixture(autouse=True)
def locmem_email(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def dora_gmbh(creditor):
    """A business customer in Hamburg that reads e-mail in English."""
    return Customer.objects.create(
        creditor=creditor,
        external_id="C-DORA",
        kind="business",
        name="Dora Logistics GmbH",
        email="office@dora.example",
        street="Kaiserkai 3",
        postcode="20457",
        city="Hamburg",
        country="DE",
        language="en",
        time_zone="Europe/Berlin",
    )


def configure_step(position: int, **fields):
    step = standard_step(position)
    for name, value in fields.items():
        setattr(step, name, value)
    step.save()
    return step


def send(message) -> Message:
    dispatch_due(message_ids=[message.pk], now=NOW)
    return Message.objects.get(pk=message.pk)


def pdf_text(content: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"],
        input=content,
        capture_output=True,
        check=True,
    ).stdout.decode()


def attachments_by_name(email) -> dict[str, tuple[bytes, str]]:
    return {name: (content, mimetype) for name, content, mimetype in email.attachments}


# --- Attachments ------------------------------------------------------------------


def test_a_step_that_attaches_the_letter_sends_it_as_pdf(dora_gmbh, make_invoice):
    """The e-mail carries the letter PDF with the claim's number and amount."""
    configure_step(1, attach_letter=True)
    invoice = make_invoice(dora_gmbh, "1234.56", number="RE-2025-0042")
    message = make_message(dora_gmbh, [(invoice, 1)])

    assert send(message).status == Message.Status.SENT

    [email] = mail.outbox
    files = attachments_by_name(email)
    assert list(files) == ["payment-reminder.pdf"]
    content, mimetype = files["payment-reminder.pdf"]
    assert mimetype == "application/pdf"
    text = pdf_text(content)
    assert "RE-2025-0042" in text
    assert "€1,234.56" in text
    assert "Dora Logistics GmbH" in text


def test_an_uploaded_invoice_document_arrives_byte_for_byte(dora_gmbh, make_invoice):
    """A claim with the creditor's invoice document gets exactly that file."""
    configure_step(1, attach_invoices=True)
    invoice = make_invoice(dora_gmbh, "250.00", number="RE-7")
    invoice.document.save("RE-7.pdf", SimpleUploadedFile("RE-7.pdf", ORIGINAL_PDF))
    message = make_message(dora_gmbh, [(invoice, 1)])

    send(message)

    [email] = mail.outbox
    assert attachments_by_name(email) == {
        "invoice-re-7.pdf": (ORIGINAL_PDF, "application/pdf")
    }


def test_a_claim_without_document_gets_a_generated_copy(dora_gmbh, make_invoice):
    """Without a document the copy of invoice is made from the claim's data."""
    configure_step(1, attach_invoices=True)
    invoice = make_invoice(dora_gmbh, "980.40", number="RE-8", description="Freight")
    message = make_message(dora_gmbh, [(invoice, 1)])

    send(message)

    [email] = mail.outbox
    content, _mimetype = attachments_by_name(email)["invoice-re-8.pdf"]
    text = pdf_text(content)
    assert "Copy of invoice RE-8" in text
    assert "€980.40 (EUR)" in text
    assert "Freight" in text
    assert "Acme Handels GmbH" in text and "Dora Logistics GmbH" in text
    assert invoice.issued_on.strftime("%b %-d, %Y") in text


def test_a_german_debtor_gets_the_copy_in_german(alice, make_invoice):
    """The generated copy speaks the message's language."""
    configure_step(1, attach_invoices=True)
    invoice = make_invoice(alice, "80.00", number="RE-9")
    message = make_message(alice, [(invoice, 1)])

    send(message)

    [email] = mail.outbox
    text = pdf_text(attachments_by_name(email)["invoice-re-9.pdf"][0])
    assert "Rechnungskopie RE-9" in text
    assert "80,00 €" in text


def test_steps_not_configured_send_no_attachments(dora_gmbh, make_invoice):
    """The shipped plan attaches nothing: the e-mail is text and HTML only."""
    invoice = make_invoice(dora_gmbh)
    message = make_message(dora_gmbh, [(invoice, 1)])

    send(message)

    [email] = mail.outbox
    assert email.attachments == []


def test_only_claims_whose_step_asks_get_an_invoice_copy(dora_gmbh, make_invoice):
    """Two claims at two steps: only the one whose step attaches gets a copy."""
    configure_step(2, attach_invoices=True)
    at_reminder = make_invoice(dora_gmbh, number="RE-10")
    at_notice = make_invoice(dora_gmbh, number="RE-11")
    message = make_message(dora_gmbh, [(at_reminder, 1), (at_notice, 2)])

    send(message)

    [email] = mail.outbox
    assert list(attachments_by_name(email)) == ["invoice-re-11.pdf"]


def test_a_claim_paid_before_sending_gets_no_copy(dora_gmbh, make_invoice):
    """A claim dropped at dispatch is neither listed nor attached."""
    from payments.services import payment_record

    configure_step(1, attach_invoices=True)
    paid = make_invoice(dora_gmbh, "50.00", number="RE-12")
    still_open = make_invoice(dora_gmbh, "60.00", number="RE-13")
    message = make_message(dora_gmbh, [(paid, 1), (still_open, 1)])
    payment_record(
        customer=dora_gmbh,
        amount=Invoice.objects.get(pk=paid.pk).open_amount,
        currency="EUR",
        received_on=SCHEDULED_AT.date(),
        invoice=paid,
        actor="test",
    )

    send(message)

    [email] = mail.outbox
    assert list(attachments_by_name(email)) == ["invoice-re-13.pdf"]


def test_over_the_size_limit_the_email_goes_without_and_says_why(
    settings, dora_gmbh, make_invoice
):
    """Attachments over the limit are left out; the status reason names them."""
    settings.EMAIL_ATTACHMENTS_MAX_KB = 1
    configure_step(1, attach_letter=True, attach_invoices=True)
    invoice = make_invoice(dora_gmbh, number="RE-14")
    message = make_message(dora_gmbh, [(invoice, 1)])

    sent = send(message)

    assert sent.status == Message.Status.SENT
    [email] = mail.outbox
    assert email.attachments == []
    assert sent.status_reason == (
        "attachments left out (over 1 KiB together): payment-reminder.pdf, "
        "invoice-re-14.pdf"
    )


def test_what_fits_is_attached_in_order(settings, dora_gmbh, make_invoice):
    """The letter goes first; an invoice that no longer fits is named."""
    configure_step(1, attach_invoices=True)
    small = make_invoice(dora_gmbh, number="RE-15")
    small.document.save("RE-15.pdf", SimpleUploadedFile("a.pdf", ORIGINAL_PDF))
    large = make_invoice(dora_gmbh, number="RE-16")
    large.document.save("RE-16.pdf", SimpleUploadedFile("b.pdf", b"%PDF" * 400))
    settings.EMAIL_ATTACHMENTS_MAX_KB = 1
    message = make_message(dora_gmbh, [(small, 1), (large, 1)])

    sent = send(message)

    [email] = mail.outbox
    assert list(attachments_by_name(email)) == ["invoice-re-15.pdf"]
    assert sent.status_reason.endswith("invoice-re-16.pdf")


# --- Extra recipients ---------------------------------------------------------------


def test_extra_recipients_receive_the_email(dora_gmbh, make_invoice):
    """Accounts payable joins To, a copy address goes in Cc; the message shows all."""
    ExtraRecipient.objects.create(
        customer=dora_gmbh, kind="accounts_payable", email="ap@dora.example"
    )
    ExtraRecipient.objects.create(
        customer=dora_gmbh, kind="copy", email="cfo@dora.example"
    )
    configure_step(1, attach_letter=True)
    message = make_message(dora_gmbh, [(make_invoice(dora_gmbh), 1)])

    sent = send(message)

    [email] = mail.outbox
    assert email.to == ["office@dora.example", "ap@dora.example"]
    assert email.cc == ["cfo@dora.example"]
    assert len(email.attachments) == 1
    assert sent.recipient == (
        "office@dora.example, ap@dora.example; cc: cfo@dora.example"
    )


def test_an_undeliverable_main_address_stops_the_extra_recipients_too(
    dora_gmbh, make_invoice
):
    """The extras never stand in for a main address that bounced."""
    ExtraRecipient.objects.create(customer=dora_gmbh, email="cfo@dora.example")
    Customer.objects.filter(pk=dora_gmbh.pk).update(
        email_undeliverable_since=timezone.now()
    )
    message = make_message(dora_gmbh, [(make_invoice(dora_gmbh), 1)])

    assert send(message).status == Message.Status.FAILED
    assert mail.outbox == []


def test_an_email_opt_out_stops_the_extra_recipients_too(dora_gmbh, make_invoice):
    """Without consent for e-mail nobody gets the e-mail."""
    ExtraRecipient.objects.create(customer=dora_gmbh, email="cfo@dora.example")
    Customer.objects.filter(pk=dora_gmbh.pk).update(consent_email=False)
    message = make_message(dora_gmbh, [(make_invoice(dora_gmbh), 1)])

    assert send(message).status == Message.Status.CANCELLED
    assert mail.outbox == []


def test_a_consumer_cannot_get_extra_recipients(alice):
    """Copies of a consumer's dunning to third parties are refused."""
    extra = ExtraRecipient(customer=alice, email="husband@example.com")

    with pytest.raises(ValidationError) as error:
        extra.full_clean()

    assert error.value.messages == [
        "Only business customers can have extra recipients; this customer is a "
        "consumer."
    ]


def test_extras_of_a_former_business_are_not_used(alice, make_invoice):
    """A customer turned consumer is addressed alone, whatever rows are left."""
    ExtraRecipient.objects.create(customer=alice, email="old-ap@example.com")
    message = make_message(alice, [(make_invoice(alice), 1)])

    send(message)

    [email] = mail.outbox
    assert (email.to, email.cc) == (["alice@example.com"], [])


# --- Plan versions --------------------------------------------------------------


def test_a_plan_version_copies_the_attachment_settings(
    admin_client, alice, make_invoice
):
    """Ticking an attachment box on a plan in use saves a new version with it,
    and the other steps' settings come along."""
    plan = Plan.objects.get(name="Standard", creditor=None)
    configure_step(2, attach_invoices=True)
    invoice = make_invoice(alice)
    Case.objects.create(
        invoice=invoice,
        customer=alice,
        creditor=alice.creditor,
        plan=plan,
        state="in_dunning",
        opened_on=invoice.due_on,
    )

    response = admin_client.post(
        reverse("admin:dunning_plan_change", args=[plan.pk]),
        plan_change_data(plan, {1: {"attach_letter": "on"}}),
    )

    assert response.status_code == 302
    plan.refresh_from_db()
    revision = plan.replaced_by
    assert revision is not None and revision.version == plan.version + 1
    copied = {
        step.position: (step.attach_letter, step.attach_invoices)
        for step in revision.steps.all()
    }
    assert copied[1] == (True, False)
    assert copied[2] == (False, True)
    assert not plan.steps.get(position=1).attach_letter


# --- Admin forms --------------------------------------------------------------------


def test_a_clerk_adds_an_accounts_payable_address_in_the_customer_admin(
    admin_client, dora_gmbh
):
    url = reverse("admin:customers_customer_change", args=[dora_gmbh.pk])
    data = change_form_data(admin_client.get(url))
    data.update(
        {
            "extra_recipients-TOTAL_FORMS": "1",
            "extra_recipients-0-kind": "accounts_payable",
            "extra_recipients-0-email": "ap@dora.example",
            "extra_recipients-0-name": "Accounts payable",
        }
    )

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["errors"]
    [extra] = dora_gmbh.extra_recipients.all()
    assert (extra.kind, extra.email) == ("accounts_payable", "ap@dora.example")


def test_the_customer_admin_refuses_extra_recipients_for_a_consumer(
    admin_client, alice
):
    url = reverse("admin:customers_customer_change", args=[alice.pk])
    data = change_form_data(admin_client.get(url))
    data.update(
        {
            "extra_recipients-TOTAL_FORMS": "1",
            "extra_recipients-0-kind": "copy",
            "extra_recipients-0-email": "someone@example.com",
        }
    )

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "Only business customers can have extra recipients" in (
        response.content.decode()
    )
    assert not ExtraRecipient.objects.exists()


def test_the_customer_admin_refuses_an_invalid_address(admin_client, dora_gmbh):
    url = reverse("admin:customers_customer_change", args=[dora_gmbh.pk])
    data = change_form_data(admin_client.get(url))
    data.update(
        {
            "extra_recipients-TOTAL_FORMS": "1",
            "extra_recipients-0-kind": "copy",
            "extra_recipients-0-email": "not an address",
        }
    )

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert not ExtraRecipient.objects.exists()


def test_turning_a_business_with_extras_into_a_consumer_is_refused(
    admin_client, dora_gmbh
):
    """The extras must go first: a consumer with copies would disclose the debt."""
    ExtraRecipient.objects.create(customer=dora_gmbh, email="cfo@dora.example")
    url = reverse("admin:customers_customer_change", args=[dora_gmbh.pk])
    data = change_form_data(admin_client.get(url))
    data["kind"] = "consumer"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "Only business customers can have extra recipients" in (
        response.content.decode()
    )
    assert Customer.objects.get(pk=dora_gmbh.pk).kind == "business"


def test_a_manager_ticks_the_attachment_boxes_of_a_step(admin_client):
    """The plan's step inline offers both boxes; a plan without cases keeps them."""
    plan = Plan.objects.create(name="Business")
    plan.steps.create(
        position=1, name="Reminder", action="reminder", days=3, channels=["email"]
    )
    url = reverse("admin:dunning_plan_change", args=[plan.pk])
    data = plan_change_data(plan, {1: {"attach_letter": "on", "attach_invoices": "on"}})

    response = admin_client.post(url, data)

    assert response.status_code == 302
    step = plan.steps.get()
    assert (step.attach_letter, step.attach_invoices) == (True, True)
    assert Plan.objects.get(pk=plan.pk).replaced_by is None


def test_an_invoice_document_is_uploaded_in_the_claim_admin(
    admin_client, alice, make_invoice
):
    invoice = make_invoice(alice, number="RE-20")
    url = reverse("admin:payments_invoice_change", args=[invoice.pk])
    data = change_form_data(admin_client.get(url))
    data["document"] = SimpleUploadedFile(
        "original.pdf", ORIGINAL_PDF, content_type="application/pdf"
    )

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["errors"]
    invoice.refresh_from_db()
    assert invoice.document.name.startswith(f"invoices/{invoice.creditor_id}/")
    with invoice.document.open("rb") as file:
        assert file.read() == ORIGINAL_PDF


def test_the_claim_admin_refuses_a_document_that_is_not_a_pdf(
    admin_client, alice, make_invoice
):
    invoice = make_invoice(alice, number="RE-21")
    url = reverse("admin:payments_invoice_change", args=[invoice.pk])
    data = change_form_data(admin_client.get(url))
    data["document"] = SimpleUploadedFile("invoice.exe", b"MZ")

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "File extension “exe” is not allowed" in response.content.decode()
    assert not Invoice.objects.get(pk=invoice.pk).document


def test_the_claim_admin_links_the_document_to_its_download_view(
    admin_client, client, alice, make_invoice
):
    """The document has no public URL: staff download it through the admin."""
    invoice = make_invoice(alice, number="RE-22")
    invoice.document.save("RE-22.pdf", SimpleUploadedFile("x.pdf", ORIGINAL_PDF))
    download = reverse("admin:payments_invoice_document", args=[invoice.pk])

    page = admin_client.get(reverse("admin:payments_invoice_change", args=[invoice.pk]))
    response = admin_client.get(download)

    assert f'href="{download}"' in page.content.decode()
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == ORIGINAL_PDF
    assert client.get(download).status_code == 302  # to the login page
