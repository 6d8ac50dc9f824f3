"""The admin forms refuse a currency that is no money and a language that is no
language, with the same words as the API; nothing is saved."""

import pytest
from django.urls import reverse

from customers.models import Creditor
from payments.models import InterestRegime
from tests.admin.helpers import change_form_data

pytestmark = pytest.mark.django_db


def post_change(admin_client, url_name: str, pk: int, **changes):
    url = reverse(url_name, args=[pk])
    data = change_form_data(admin_client.get(url))
    data.update(changes)
    return admin_client.post(url, data)


def test_a_creditor_s_currency_that_is_no_money_is_refused(admin_client, creditor):
    response = post_change(
        admin_client,
        "admin:customers_creditor_change",
        creditor.pk,
        default_currency="XAU",
    )

    assert response.status_code == 200
    assert "XAU (Gold) is not a currency a claim can be paid in." in (
        response.content.decode()
    )
    assert Creditor.objects.get(pk=creditor.pk).default_currency == "EUR"


def test_a_creditor_s_currency_that_is_money_is_saved(admin_client, creditor):
    response = post_change(
        admin_client,
        "admin:customers_creditor_change",
        creditor.pk,
        default_currency="CHF",
    )

    assert response.status_code == 302, response.context["errors"]
    assert Creditor.objects.get(pk=creditor.pk).default_currency == "CHF"


def test_a_compensation_tier_in_a_code_that_is_no_money_is_refused(admin_client):
    """The statutory regime's €40 tier may not be changed to the testing code."""
    regime = InterestRegime.objects.get(code="de-bgb-288")
    before = list(regime.compensation_tiers.values_list("currency", "amount"))
    url = reverse("admin:payments_interestregime_change", args=[regime.pk])
    data = change_form_data(admin_client.get(url))
    data["compensation_tiers-0-currency"] = "XTS"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "XTS (Testing Currency Code) is not a currency a claim can be paid in." in (
        response.content.decode()
    )
    assert list(regime.compensation_tiers.values_list("currency", "amount")) == before


def test_a_customer_language_that_is_no_language_is_refused(admin_client, alice):
    response = post_change(
        admin_client, "admin:customers_customer_change", alice.pk, language="xx"
    )

    assert response.status_code == 200
    assert "&#x27;xx&#x27; is not a language code such as en, de or fr." in (
        response.content.decode()
    )
    alice.refresh_from_db()
    assert alice.language == "de"


@pytest.mark.parametrize("code", ["fr", "de-AT"])
def test_a_customer_language_without_texts_of_its_own_is_saved(
    admin_client, alice, code
):
    response = post_change(
        admin_client, "admin:customers_customer_change", alice.pk, language=code
    )

    assert response.status_code == 302, response.context["errors"]
    alice.refresh_from_db()
    assert alice.language == code
