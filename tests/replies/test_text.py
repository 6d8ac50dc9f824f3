"""Reading a reply: MIME parts, quotes and signatures, dates and amounts."""

from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime

import pytest

from replies.text import (
    claim_number_candidates,
    clean_reply,
    message_keys,
    parse_amount,
    parse_date,
    parse_email,
)

TODAY = date(2025, 3, 12)  # a Wednesday


RAW = b"""\
From: =?utf-8?q?=C3=84lice_Ahrens?= <Alice@Example.com>
To: billing@acme.example
Subject: AW: Zahlungserinnerung
Message-ID: <reply-1@mail.example>
In-Reply-To: <abc@acme.example>
References: <first@acme.example>
 <abc@acme.example>
Date: Wed, 12 Mar 2025 09:30:00 +0100
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/html; charset=utf-8

<p>HTML <b>version</b></p>
--b1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Schon =C3=BCberwiesen =E2=80=93 Gr=C3=BC=C3=9Fe
--b1--
"""


def test_the_plain_part_is_preferred_and_headers_are_read():
    parsed = parse_email(RAW.replace(b"\n", b"\r\n"))

    assert parsed.sender == "alice@example.com"
    assert parsed.subject == "AW: Zahlungserinnerung"
    assert parsed.text == "Schon überwiesen – Grüße"
    assert parsed.message_id == "<reply-1@mail.example>"
    assert parsed.in_reply_to == "<abc@acme.example>"
    assert parsed.references == "<first@acme.example> <abc@acme.example>"
    assert format_datetime(parsed.received_at) == "Wed, 12 Mar 2025 09:30:00 +0100"


def test_an_html_only_mail_is_read_without_its_quoted_blockquote():
    message = EmailMessage()
    message["From"] = "bob@example.com"
    message.set_content(
        "<div>I paid&nbsp;yesterday.<br>Bob</div>"
        "<blockquote>Dear customer, please pay</blockquote>",
        subtype="html",
    )

    parsed = parse_email(message.as_bytes())

    assert parsed.text == "I paid yesterday.\nBob"
    assert parsed.message_id.startswith("sha256:")


def test_quoted_history_and_signature_are_cut():
    text = (
        "Hallo,\n\nich habe am 03.03. bezahlt.\n\nMit freundlichen Grüßen\n"
        "Alice Ahrens\nLindenweg 5\n\nAm 01.03.2025 um 08:00 schrieb Acme GmbH "
        "<billing@acme.example>:\n> Bitte zahlen Sie 120,00 €."
    )

    assert clean_reply(text) == "Hallo,\n\nich habe am 03.03. bezahlt."


@pytest.mark.parametrize(
    "text, kept",
    [
        ("Paid.\n-- \nJohn\n+44 20 7946 0000", "Paid."),
        ("Paid.\n\nSent from my iPhone", "Paid."),
        ("Will pay Friday\nVon meinem iPhone gesendet", "Will pay Friday"),
        (
            "Paid.\n\n-----Original Message-----\nFrom: Acme\nPlease pay",
            "Paid.",
        ),
        (
            "Bezahlt.\n\nVon: Acme <a@acme.example>\nGesendet: Montag\nBitte zahlen",
            "Bezahlt.",
        ),
        ("On Mon, 3 Mar 2025, Acme\n<a@acme.example> wrote:\n> pay", ""),
        ("Danke", "Danke"),
        ("> quoted only\nmy answer", "my answer"),
    ],
)
def test_what_the_debtor_wrote(text, kept):
    assert clean_reply(text) == kept


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Ich zahle am 15.05.", date(2025, 5, 15)),
        ("payment on 2025-04-02", date(2025, 4, 2)),
        ("bis zum 20.03.2025", date(2025, 3, 20)),
        ("by 15 May", date(2025, 5, 15)),
        ("on March 31st", date(2025, 3, 31)),
        ("am 3. April", date(2025, 4, 3)),
        ("I'll pay on Friday", date(2025, 3, 14)),
        ("zahle Mittwoch", date(2025, 3, 19)),
        ("end of the month", date(2025, 3, 31)),
        ("Ende des Monats", date(2025, 3, 31)),
        ("morgen", date(2025, 3, 13)),
        ("Guten Morgen, ich zahle nächste Woche", date(2025, 3, 19)),
        ("on 10.01.", date(2026, 1, 10)),
        ("no date here", None),
        ("31.02.", None),
    ],
)
def test_the_promised_date(text, expected):
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("120,00 €", (Decimal("120.00"), "EUR")),
        ("€ 1.234,56 next week", (Decimal("1234.56"), "EUR")),
        ("EUR 1,234.56", (Decimal("1234.56"), "EUR")),
        ("pay £85 on Monday", (Decimal("85"), "GBP")),
        ("die 50 Euro", (Decimal("50"), "EUR")),
        ("invoice 12345 on Friday", None),
        ("Rechnung 12345 100 €", (Decimal("100"), "EUR")),
    ],
)
def test_the_promised_amount(text, expected):
    assert parse_amount(text) == expected


def test_claim_numbers_and_message_keys():
    assert claim_number_candidates("Re: inv-0042, R-2025-0042.") == [
        "inv-0042",
        "INV-0042",
        "R-2025-0042",
    ]
    key = "0f" * 32
    assert message_keys(f"<{key}@acme.example>", f"<x@y> <1.2.{key}@z>") == [key]
