"""Messages with the decision behind each, and their content as text or PDF."""

import io

import pytest
from pypdf import PdfReader

from messaging.models import Message
from tests.messaging.factories import make_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def message(alice, make_invoice):
    return make_message(alice, [(make_invoice(alice, amount="80.00"), 1)])


def test_a_message_carries_its_decision_and_claims(api, message):
    body = api.get(f"/api/v1/messages/{message.pk}/").json()

    assert body["status"] == "planned"
    assert body["decision"]["payment_options"] == ["bank_transfer", "card"]
    assert body["decision"]["reasons"] == {"channel": "test"}
    assert body["items"][0]["open_amount"] == "80.00"


def test_messages_filter_by_claim(api, message, alice, make_invoice):
    make_message(alice, [(make_invoice(alice, number="OTHER"), 1)])

    body = api.get("/api/v1/messages/", {"invoice_external_id": "INV-0001"}).json()

    assert [m["id"] for m in body["results"]] == [message.pk]


def test_a_planned_message_reads_as_it_would_go_out(api, message):
    response = api.get(f"/api/v1/messages/{message.pk}/text/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert "INV-0001" in text
    assert "80,00" in text or "80.00" in text


def test_a_sent_message_reads_as_it_went_out(api, message):
    Message.objects.filter(pk=message.pk).update(
        status="sent", sent_at=message.scheduled_at, subject="Hello", body="As sent."
    )

    response = api.get(f"/api/v1/messages/{message.pk}/text/")

    assert response.content.decode() == "Hello\n\nAs sent."


def test_the_pdf_holds_the_message(api, message):
    """An Accept header asking for PDF is answered with the PDF itself."""
    response = api.get(
        f"/api/v1/messages/{message.pk}/pdf/", HTTP_ACCEPT="application/pdf"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "INV-0001" in text


def test_content_of_an_unknown_message_is_a_json_404(api, creditor):
    response = api.get("/api/v1/messages/999999/pdf/", HTTP_ACCEPT="application/pdf")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
