"""The export holds every section of what is kept on the debtor."""

import json
import zipfile
from io import BytesIO, StringIO

import pytest
from django.core.management import call_command

from privacy.models import AccessLog
from tests.privacy.conftest import ZORA

pytestmark = pytest.mark.django_db


def test_export_has_every_section_with_the_debtors_values(
    zora_everywhere, zora, manager, client, tmp_path
):
    out = StringIO()
    call_command("privacy_export", "--customer", str(zora.pk), stdout=out)
    data = json.loads(out.getvalue())

    assert data["profile"]["name"] == ZORA["name"]
    assert data["profile"]["birth_year"] == ZORA["birth_year"]
    assert data["consents"]["letter"] is True
    assert [c["number"] for c in data["claims"]] == [
        c.number for c in zora_everywhere["claims"]
    ]
    assert {row["kind"] for row in data["ledger"]} >= {"principal", "fee", "payment"}
    assert ZORA["name"] in data["payments"][0]["reference"]
    assert len(data["cases"]) == 2 and len(data["case_steps"]) == 4
    assert {row["state"] for row in data["case_history"]} >= {"in_dunning"}
    assert {m["channel"] for m in data["messages"]} == {"letter", "email"}
    assert all(ZORA["name"] in m["body"] for m in data["messages"] if m["body"])
    assert len(data["message_items"]) == 4
    details = [event["detail"] for event in data["delivery_events"]]
    assert {"recipient": ZORA["email"], "envelope": {"to": ZORA["email"]}} in details
    assert ZORA["street"] in data["replies"][0]["text"]
    assert {e["kind"] for e in data["portal_events"]} >= {"visited"}
    assert ZORA["name"] in data["clerk_tasks"][0]["reason"]
    assert data["decisions"][0]["reasons"]
    assert "token_hash" not in data["portal_links"][0]
    assert data["experiment_assignments"] == []
    assert data["opt_outs"] == [] and data["sepa_mandates"] == []

    client.force_login(manager)
    response = client.post(
        "/admin/customers/customer/",
        {"action": "export_personal_data", "_selected_action": [zora.pk]},
    )
    archive = zipfile.ZipFile(BytesIO(response.content))
    names = archive.namelist()
    assert f"customer-{zora.pk}/data.json" in names
    letter = zora_everywhere["letter"]
    assert archive.read(f"customer-{zora.pk}/letters/{letter.pk}.pdf")[:4] == b"%PDF"
    assert AccessLog.objects.filter(customer=zora, action="export").count() == 2
