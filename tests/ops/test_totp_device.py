"""A staff member's TOTP device made from the command line."""

import hmac
import struct
import time
from hashlib import sha1
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db


def code(key: bytes, at: float) -> str:
    digest = hmac.new(key, struct.pack(">Q", int(at // 30)), sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def test_the_device_verifies_the_code_of_the_printed_secret():
    import base64

    user = User.objects.create_user("sam", password="x", is_staff=True)
    out = StringIO()

    call_command("totp_device_add", "sam", "--no-qr", stdout=out)

    address = out.getvalue().strip()
    assert address.startswith("otpauth://totp/")
    secret = parse_qs(urlsplit(address).query)["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed
    assert device.verify_token(code(key, time.time()))


def test_a_user_who_is_not_staff_gets_no_device():
    User.objects.create_user("pat", password="x")

    with pytest.raises(CommandError, match="not staff"):
        call_command("totp_device_add", "pat")
    assert not TOTPDevice.objects.exists()
