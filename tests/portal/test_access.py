"""Ways into the debtor page: QR code and short address on letters, the second
factor, and rate limits on guessing."""

import re
import subprocess
from datetime import date, timedelta

import pytest
import zxingcpp
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from customers.models import SecondFactor
from messaging.models import Message
from messaging.services import dispatch_due
from portal.access import short_code_issue, short_code_resolve
from portal.models import Checkout, PortalLink
from portal.services import link_create, link_resolve
from tests.messaging.factories import SCHEDULED_AT, make_message

pytestmark = pytest.mark.django_db

SHORT_URL = "/k/"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def home_url(token):
    return reverse("portal:home", args=[token])


def pdf_text(path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()


@pytest.fixture
def sent_letter(alice, make_invoice, outbox):
    """A letter to Alice, sent by the dispatch: its PDF, text and link."""
    invoice = make_invoice(alice, "250.00", number="R-1", due_on=date(2025, 2, 10))
    message = make_message(alice, [(invoice, 2)], channel="letter")

    result = dispatch_due(now=SCHEDULED_AT + timedelta(hours=1))

    assert result["letter"] == {"sent": 1}
    path = outbox / "letters" / "2025-04-01" / f"{message.pk}.pdf"
    return {
        "path": path,
        "text": pdf_text(path),
        "link": PortalLink.objects.get(message=message),
        "message": Message.objects.get(pk=message.pk),
    }


def printed(text: str, label: str) -> str:
    """The value printed after a label on the letter ("Code  ABCDE-FGHJK")."""
    match = re.search(rf"^\s*{label}\s+(\S.*?)\s*$", text, re.MULTILINE)
    assert match, f"{label!r} is not on the letter"
    return match.group(1)


def test_a_letter_carries_a_qr_code_that_scans_as_the_personal_link(
    sent_letter, tmp_path
):
    """The QR code printed beside the link decodes to the link of that letter."""
    prefix = tmp_path / "page"
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile"]
        + [str(sent_letter["path"]), str(prefix)],
        check=True,
    )

    codes = zxingcpp.read_barcodes(Image.open(f"{prefix}.png"))

    assert [code.format.name for code in codes] == ["QRCode"]
    url = codes[0].text
    assert url.startswith("http://testserver/p/")
    assert url in sent_letter["text"].replace("\n", "")
    token = url.removeprefix("http://testserver/p/").strip("/")
    assert link_resolve(token) == sent_letter["link"]


def test_the_short_code_and_passcode_of_a_letter_open_the_debtors_page(
    client, sent_letter
):
    """Typed as printed (or in small letters with blanks), the pair opens the page."""
    text = sent_letter["text"]
    assert printed(text, "Adresse") == "testserver/k"
    code, passcode = printed(text, "Code"), printed(text, "Kennwort")
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5}", code)
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4} [2-9A-HJKMNP-Z]{4}", passcode)

    form = client.get(SHORT_URL)
    opened = client.post(
        SHORT_URL, {"code": code.lower().replace("-", " "), "passcode": passcode}
    )
    page = client.get(opened["Location"])

    assert form.status_code == 200
    assert 'name="passcode"' in form.content.decode()
    assert opened.status_code == 302
    token = opened["Location"].removeprefix("http://testserver/p/").strip("/")
    assert link_resolve(token) == sent_letter["link"]
    assert page.status_code == 200
    html = page.content.decode()
    assert "Guten Tag Alice Ahrens" in html and "Rechnung R-1" in html


def test_letters_sent_together_each_print_the_code_of_their_own_link(
    alice, bob_ltd, make_invoice, outbox, tmp_path
):
    """Dispatch seals the next letter's token in a thread while it renders one:
    each letter's QR code, printed link and code with passcode still open the
    link of that letter, and no sealing thread outlives the batch."""
    import threading

    messages = []
    for n, customer in enumerate([alice, bob_ltd, alice]):
        invoice = make_invoice(customer, "120.00", number=f"R-{n}")
        messages.append(make_message(customer, [(invoice, 2)], channel="letter"))

    result = dispatch_due(now=SCHEDULED_AT + timedelta(hours=1))

    assert result["letter"] == {"sent": 3}
    assert not [t for t in threading.enumerate() if t.name.startswith("seal")]
    opened = set()
    for message in messages:
        path = outbox / "letters" / "2025-04-01" / f"{message.pk}.pdf"
        text = pdf_text(path)
        link = PortalLink.objects.get(message=message)
        subprocess.run(
            ["pdftoppm", "-r", "150", "-png", "-singlefile", str(path)]
            + [str(tmp_path / "page")],
            check=True,
        )
        [code] = zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))
        qr_token = code.text.removeprefix("http://testserver/p/").strip("/")
        label = "Passcode" if message.customer == bob_ltd else "Kennwort"
        found = short_code_resolve(printed(text, "Code"), printed(text, label))

        assert found is not None
        assert found[0] == link == link_resolve(qr_token)
        assert found[1] == qr_token
        opened.add(link.pk)
    assert len(opened) == 3


def test_sealed_tokens_seal_the_next_one_in_a_thread(alice, monkeypatch):
    """The first token of a run is sealed by the caller, every later one
    ahead in the sealing thread; each pair opens its own token."""
    import threading

    from portal import access

    sealed_in = []

    def recording():
        sealed_in.append(threading.current_thread().name)
        return real()

    real = access.sealed_token
    monkeypatch.setattr(access, "sealed_token", recording)
    tokens = access.SealedTokens()

    taken = [tokens.take() for _ in range(3)]
    tokens.close()

    assert sealed_in[0] == threading.current_thread().name
    # A fourth, submitted ahead, is never given out: close() cancels it or
    # lets it end.
    assert len(sealed_in) in (3, 4)
    assert all(name.startswith("seal") for name in sealed_in[1:])
    assert len({sealed.token for sealed in taken}) == 3
    for sealed in taken:
        link, _token = link_create(customer=alice, sealed=sealed)
        assert short_code_resolve(sealed.short.code, sealed.short.passcode) == (
            link,
            sealed.token,
        )


def test_only_hashes_of_the_short_code_are_stored(sent_letter):
    """Neither the code nor the passcode is in the link row or the message text."""
    code = printed(sent_letter["text"], "Code").replace("-", "")
    passcode = printed(sent_letter["text"], "Kennwort").replace(" ", "")
    link, message = sent_letter["link"], sent_letter["message"]

    stored = " ".join(
        [link.token_hash, link.short_code_hash, link.short_code_seal, message.body]
    )

    assert link.short_code_hash and len(link.short_code_seal) == 96
    assert code not in stored and passcode not in stored
    assert "Kennwort" not in message.body


def test_a_wrong_passcode_and_an_unknown_code_get_the_same_answer(client, alice_link):
    """The form never tells whether a code exists."""
    link, token = alice_link
    short = short_code_issue(link=link, token=token)

    wrong_passcode = client.post(
        SHORT_URL, {"code": short.code, "passcode": "ZZZZZZZZ"}
    )
    unknown_code = client.post(
        SHORT_URL, {"code": "ZZZZZZZZZZ", "passcode": short.passcode}
    )
    link.expires_at = timezone.now() - timedelta(seconds=1)
    link.save()
    expired = client.post(SHORT_URL, {"code": short.code, "passcode": short.passcode})

    answers = [wrong_passcode, unknown_code, expired]
    assert {a.status_code for a in answers} == {400}
    bodies = {CSRF_INPUT.sub("", a.content.decode()) for a in answers}
    assert len(bodies) == 1
    assert "Alice Ahrens" not in bodies.pop()


def test_short_code_attempts_lock_per_code_and_per_ip(settings, alice_link):
    """After the code's failures even the right passcode waits; unknown codes too."""
    settings.PORTAL_RATE_PER_LINK = "3/h"
    settings.PORTAL_RATE_PER_IP = "7/h"
    link, token = alice_link
    short = short_code_issue(link=link, token=token)
    client = Client(REMOTE_ADDR="203.0.113.5")

    for _ in range(3):
        assert (
            client.post(
                SHORT_URL, {"code": short.code, "passcode": "ZZZZZZZZ"}
            ).status_code
            == 400
        )
    locked = client.post(SHORT_URL, {"code": short.code, "passcode": short.passcode})
    for _ in range(3):
        client.post(SHORT_URL, {"code": "ZZZZZZZZZZ", "passcode": "ZZZZZZZZ"})
    unknown_locked = client.post(
        SHORT_URL, {"code": "ZZZZZZZZZZ", "passcode": "ZZZZZZZZ"}
    )
    client.post(SHORT_URL, {"code": "YYYYYYYYYY", "passcode": "ZZZZZZZZ"})
    ip_locked = client.post(SHORT_URL, {"code": "XXXXXXXXXX", "passcode": "Z"})
    elsewhere = Client(REMOTE_ADDR="198.51.100.7").post(
        SHORT_URL, {"code": "WWWWWWWWWW", "passcode": "Z"}
    )

    assert locked.status_code == 429
    assert unknown_locked.status_code == 429
    assert locked.content == unknown_locked.content
    assert ip_locked.status_code == 429
    assert elsewhere.status_code == 400
    assert short_code_resolve(short.code, short.passcode) == (link, token)


@pytest.fixture
def postcode_factor(alice):
    alice.creditor.portal_second_factor = SecondFactor.POSTCODE
    alice.creditor.save()
    return alice


def test_a_creditors_second_factor_comes_before_any_detail(
    client, postcode_factor, alice_link, make_invoice
):
    """Postcode first, in the debtor's language; the session then remembers it."""
    make_invoice(postcode_factor, "250.00", number="R-1")
    _, token = alice_link
    verify_url = reverse("portal:verify", args=[token])

    first = client.get(home_url(token))
    form = client.get(verify_url)
    wrong = client.post(verify_url, {"value": "99999"})
    right = client.post(verify_url, {"value": f" {postcode_factor.postcode} "})
    page = client.get(home_url(token))
    again = client.get(home_url(token))
    other_browser = Client().get(home_url(token))

    assert first.status_code == 302 and first["Location"] == verify_url
    html = form.content.decode()
    assert '<html lang="de">' in html
    assert "Ihre Postleitzahl" in html
    assert "R-1" not in html and "250,00" not in html
    assert wrong.status_code == 400
    assert "stimmt nicht" in wrong.content.decode()
    assert right.status_code == 302 and right["Location"] == home_url(token)
    assert page.status_code == again.status_code == 200
    assert "Rechnung R-1" in page.content.decode()
    assert other_browser.status_code == 302


def test_paying_waits_for_the_second_factor(
    client, postcode_factor, alice_link, make_invoice
):
    """A POST to pay before the second factor starts no checkout."""
    invoice = make_invoice(postcode_factor, "250.00")
    _, token = alice_link

    response = client.post(
        reverse("portal:pay", args=[token]), {"currency": "EUR", "claims": [invoice.id]}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:verify", args=[token])
    assert not Checkout.objects.exists()


def test_a_birth_date_factor_asks_the_customer_number_when_none_is_stored(
    client, alice, alice_link
):
    """Birth date when known, else the customer number, which every customer has."""
    alice.creditor.portal_second_factor = SecondFactor.BIRTH_DATE
    alice.creditor.save()
    _, token = alice_link
    verify_url = reverse("portal:verify", args=[token])

    without = client.get(verify_url).content.decode()
    alice.birth_date = date(1980, 5, 17)
    alice.save()
    with_date = client.get(verify_url).content.decode()
    wrong = client.post(verify_url, {"value": "1980-05-18"})
    right = client.post(verify_url, {"value": "1980-05-17"})

    assert "Ihre Kundennummer" in without
    assert 'type="date"' in with_date and "Ihr Geburtsdatum" in with_date
    assert wrong.status_code == 400
    assert right.status_code == 302 and right["Location"] == home_url(token)


def test_second_factor_attempts_lock_per_link(
    settings, client, postcode_factor, alice_link
):
    """After the link's failures even the right answer waits, from any address."""
    settings.PORTAL_RATE_PER_LINK = "3/h"
    _, token = alice_link
    verify_url = reverse("portal:verify", args=[token])

    for _ in range(3):
        assert client.post(verify_url, {"value": "00000"}).status_code == 400
    locked = Client(REMOTE_ADDR="198.51.100.7").post(
        verify_url, {"value": postcode_factor.postcode}
    )

    assert locked.status_code == 429
    assert "Zu viele Versuche" in locked.content.decode()


def test_guessed_tokens_lock_the_address_out_of_every_link(
    settings, alice_link, bob_ltd
):
    """After the IP's failed tokens even a valid one waits; other addresses go on."""
    settings.PORTAL_RATE_PER_IP = "3/h"
    _, token = alice_link
    guesser = Client(REMOTE_ADDR="203.0.113.9")

    guesses = [guesser.get(home_url(f"guess{n}" + "x" * 38)) for n in range(3)]
    locked = guesser.get(home_url(token))
    elsewhere = Client(REMOTE_ADDR="198.51.100.7").get(home_url(token))

    assert [g.status_code for g in guesses] == [404, 404, 404]
    assert locked.status_code == 429
    assert "Alice Ahrens" not in locked.content.decode()
    assert elsewhere.status_code == 200


def test_another_debtors_token_shows_nothing_of_the_first(
    client, alice, alice_link, bob_ltd, make_invoice
):
    """Bob's token opens Bob's page only, and none of Alice's checkouts."""
    make_invoice(alice, "250.00", number="R-ALICE")
    make_invoice(bob_ltd, "77.00", number="B-77")
    alice_token = alice_link[1]
    client.post(
        reverse("portal:pay", args=[alice_token]),
        {
            "currency": "EUR",
            "claims": list(alice.invoices.values_list("id", flat=True)),
        },
    )
    reference = Checkout.objects.get().provider_reference
    _, bob_token = link_create(customer=bob_ltd)

    page = client.get(home_url(bob_token)).content.decode()
    thanks = client.get(reverse("portal:thanks", args=[bob_token, reference]))
    test_pay = client.get(reverse("portal:test_pay", args=[bob_token, reference]))

    assert "B-77" in page
    assert "R-ALICE" not in page and "Alice Ahrens" not in page
    assert thanks.status_code == test_pay.status_code == 404


def test_an_expired_and_a_guessed_token_cost_the_same_queries(
    client, alice_link, django_assert_num_queries
):
    """One lookup by hash either way: the answer's timing tells nothing."""
    link, token = alice_link
    link.expires_at = timezone.now() - timedelta(seconds=1)
    link.save()
    client.get(home_url("warm-up"))

    with django_assert_num_queries(2) as expired:
        client.get(home_url(token))
    with django_assert_num_queries(2) as guessed:
        client.get(home_url("g" * 43))

    assert [q["sql"].split(" WHERE ")[0] for q in expired.captured_queries] == [
        q["sql"].split(" WHERE ")[0] for q in guessed.captured_queries
    ]
