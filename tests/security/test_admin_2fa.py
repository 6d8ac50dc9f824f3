"""Two-factor admin login: with ADMIN_REQUIRE_2FA, password and TOTP code."""

import hashlib
import hmac
import struct
import time

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def totp(key: bytes, at: float, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 with HMAC-SHA1, written out so the test does not trust the library."""
    counter = struct.pack(">Q", int(at // step))
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


@pytest.fixture(autouse=True)
def no_throttle_left():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def sam(db):
    """A staff member with a confirmed TOTP device."""
    user = User.objects.create_superuser("sam", "sam@example.com", PASSWORD)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device


@pytest.fixture
def required(settings):
    settings.ADMIN_REQUIRE_2FA = True


def login(client, **extra):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": "sam", "password": PASSWORD, "next": "/admin/", **extra},
    )


def test_the_login_page_asks_for_the_code(client, sam, required):
    page = client.get("/admin/login/").content.decode()

    assert 'name="otp_token"' in page


def test_password_alone_is_refused_and_the_devices_are_offered(client, sam, required):
    """The right password leads to the choice of device and the code field."""
    _, device = sam

    response = login(client)

    page = response.content.decode()
    assert response.status_code == 200
    assert f'value="{device.persistent_id}"' in page
    assert client.get("/admin/").status_code == 302


def test_a_wrong_code_is_refused(client, sam, required):
    _, device = sam
    right = totp(device.bin_key, time.time())
    wrong = str((int(right) + 1) % 1_000_000).zfill(6)

    response = login(client, otp_device=device.persistent_id, otp_token=wrong)

    assert "Invalid token" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_password_and_the_current_code_sign_in_once(client, sam, required):
    """The code of this 30-second step opens the admin; it cannot be used again."""
    _, device = sam
    code = totp(device.bin_key, time.time())

    response = login(client, otp_device=device.persistent_id, otp_token=code)

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    other = client.__class__()
    again = login(other, otp_device=device.persistent_id, otp_token=code)
    assert "Invalid token" in again.content.decode()
    assert other.get("/admin/").status_code == 302


def test_a_session_without_a_verified_device_is_not_staff(client, sam, required):
    """A session signed in some other way (password only) gets no admin page."""
    user, _ = sam
    client.force_login(user)

    assert client.get("/admin/").status_code == 302


def test_without_the_setting_the_password_is_enough(client, sam):
    response = login(client)

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_superuser_registers_a_device_in_the_admin(admin_client):
    """With the setting off, the admin offers TOTP devices to add."""
    page = admin_client.get("/admin/otp_totp/totpdevice/add/")

    assert page.status_code == 200
    assert 'name="key"' in page.content.decode()
