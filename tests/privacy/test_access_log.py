"""Every admin page that shows one debtor records who opened it."""

import pytest

from privacy.models import AccessLog
from tests.admin.helpers import open_case

pytestmark = pytest.mark.django_db


def test_a_clerk_viewing_and_changing_is_logged(client, clerk, zora, make_invoice):
    case = open_case(make_invoice(zora))
    client.force_login(clerk)

    assert client.get(f"/admin/customers/customer/{zora.pk}/change/").status_code == 200
    assert client.get(f"/admin/dunning/case/{case.pk}/change/").status_code == 200
    client.get("/admin/customers/customer/")

    rows = list(
        AccessLog.objects.order_by("id").values_list(
            "username", "customer", "action", "page"
        )
    )
    assert rows == [
        ("carl", zora.pk, "view", "admin:customers_customer_change"),
        ("carl", zora.pk, "view", "admin:dunning_case_change"),
    ]


def test_a_page_refused_is_not_logged(client, zora):
    from django.contrib.auth.models import User

    nobody = User.objects.create_user("nina", password="x", is_staff=True)
    client.force_login(nobody)

    response = client.get(f"/admin/customers/customer/{zora.pk}/change/")

    assert response.status_code in (302, 403)
    assert not AccessLog.objects.exists()
