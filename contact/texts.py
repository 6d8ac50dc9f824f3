"""The unsubscribe page's wording, in the languages the debtor pages speak."""

from portal.texts import page_language

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Unsubscribe",
        "confirm": "Do you want to receive no more {channel} from {creditor}?",
        "keep_note": (
            "Open invoices stay open; messages about them may still reach you "
            "on other channels."
        ),
        "button": "Yes, unsubscribe",
        "done_title": "You are unsubscribed",
        "done": "You will receive no more {channel} from {creditor}.",
        "not_found_title": "Link not valid",
        "not_found": "This unsubscribe link is not valid. Please use the link "
        "from the message you received.",
    },
    "de": {
        "title": "Abmelden",
        "confirm": "Möchten Sie keine {channel} mehr von {creditor} erhalten?",
        "keep_note": (
            "Offene Rechnungen bleiben offen; Nachrichten dazu können Sie weiter "
            "auf anderen Wegen erreichen."
        ),
        "button": "Ja, abmelden",
        "done_title": "Sie sind abgemeldet",
        "done": "Sie erhalten keine {channel} mehr von {creditor}.",
        "not_found_title": "Link ungültig",
        "not_found": "Dieser Abmeldelink ist ungültig. Bitte verwenden Sie den "
        "Link aus der Nachricht, die Sie erhalten haben.",
    },
}

CHANNEL_NAMES = {
    "en": {
        "email": "e-mails",
        "sms": "text messages",
        "whatsapp": "WhatsApp messages",
        "letter": "letters",
    },
    "de": {
        "email": "E-Mails",
        "sms": "SMS",
        "whatsapp": "WhatsApp-Nachrichten",
        "letter": "Briefe",
    },
}


def texts_for(language: str | None) -> tuple[str, dict[str, str]]:
    language = page_language(language)
    return language, TEXTS.get(language, TEXTS["en"])
