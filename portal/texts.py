"""The debtor page's wording in the languages it speaks.

Plain dictionaries rather than gettext catalogs: a catalog needs compiled .mo files
(GNU gettext's msgfmt at deploy time), and a page that falls back to English
because a build step was skipped is worse than one more dictionary. Placeholders
use str.format names and are filled in by the views.
"""

DEFAULT_LANGUAGE = "en"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "page_title": "Your open invoices",
        "greeting": "Hello {name},",
        "intro": "these invoices from {creditor} are still open.",
        "nothing_open": "You have no open invoices. Thank you!",
        "invoice": "Invoice {number}",
        "due_on": "Due on",
        "principal": "Invoice amount",
        "paid": "Already paid",
        "credited": "Credited",
        "fees": "Reminder fees",
        "interest": "Interest on late payment",
        "waived": "Waived",
        "written_off": "Written off",
        "open": "Still open",
        "group_title": "Invoices in {currency}",
        "total": "Total open in {currency}",
        "select": "Include invoice {number}",
        "pay_now": "Pay now",
        "pay_hint": "Untick an invoice to leave it out of this payment.",
        "costs_explained": (
            "A reminder fee is charged once for each reminder. Interest on late "
            "payment runs for each day after the due date and stops when you pay."
        ),
        "no_online_payment": "Online payment is not available at the moment.",
        "bank_transfer": "Or pay by bank transfer",
        "account_holder": "Account holder",
        "iban": "IBAN",
        "bic": "BIC",
        "transfer_reference": "Reference",
        "refused": (
            "These invoices cannot be paid here. Please reload the page and try again."
        ),
        "cancelled": "The payment was cancelled. Nothing was charged.",
        "not_found_title": "This link is not valid",
        "not_found_body": (
            "Please use the link from the most recent message you received, or "
            "contact the company that sent it."
        ),
        "test_pay_title": "Test payment",
        "test_pay_notice": (
            "This is the built-in test payment provider for demonstrations. "
            "No money is moved."
        ),
        "amount": "Amount",
        "invoices": "Invoices",
        "confirm": "Confirm test payment",
        "cancel": "Cancel",
        "thanks_title": "Thank you for your payment",
        "thanks_body": "We have received {amount}.",
        "thanks_paid": "Paid",
        "thanks_settled": "This invoice is paid in full.",
        "thanks_left": "Still open: {amount}",
        "thanks_credit": "{amount} is kept as a credit in your favour.",
        "back": "Back to your overview",
    },
    "de": {
        "page_title": "Ihre offenen Rechnungen",
        "greeting": "Guten Tag {name},",
        "intro": "diese Rechnungen von {creditor} sind noch offen.",
        "nothing_open": "Sie haben keine offenen Rechnungen. Vielen Dank!",
        "invoice": "Rechnung {number}",
        "due_on": "Fällig am",
        "principal": "Rechnungsbetrag",
        "paid": "Bereits bezahlt",
        "credited": "Gutgeschrieben",
        "fees": "Mahngebühren",
        "interest": "Verzugszinsen",
        "waived": "Erlassen",
        "written_off": "Ausgebucht",
        "open": "Noch offen",
        "group_title": "Rechnungen in {currency}",
        "total": "Insgesamt offen in {currency}",
        "select": "Rechnung {number} bezahlen",
        "pay_now": "Jetzt bezahlen",
        "pay_hint": "Entfernen Sie das Häkchen, um eine Rechnung auszulassen.",
        "costs_explained": (
            "Eine Mahngebühr fällt einmal je Mahnung an. Verzugszinsen laufen für "
            "jeden Tag nach der Fälligkeit und enden mit Ihrer Zahlung."
        ),
        "no_online_payment": "Online-Zahlung ist im Moment nicht möglich.",
        "bank_transfer": "Oder per Überweisung bezahlen",
        "account_holder": "Kontoinhaber",
        "iban": "IBAN",
        "bic": "BIC",
        "transfer_reference": "Verwendungszweck",
        "refused": (
            "Diese Rechnungen können hier nicht bezahlt werden. Bitte laden Sie "
            "die Seite neu und versuchen Sie es noch einmal."
        ),
        "cancelled": "Die Zahlung wurde abgebrochen. Es wurde nichts abgebucht.",
        "not_found_title": "Dieser Link ist nicht gültig",
        "not_found_body": (
            "Bitte verwenden Sie den Link aus der neuesten Nachricht, die Sie "
            "erhalten haben, oder wenden Sie sich an das Unternehmen, das sie "
            "geschickt hat."
        ),
        "test_pay_title": "Testzahlung",
        "test_pay_notice": (
            "Dies ist der eingebaute Test-Zahlungsanbieter für Vorführungen. "
            "Es wird kein Geld bewegt."
        ),
        "amount": "Betrag",
        "invoices": "Rechnungen",
        "confirm": "Testzahlung bestätigen",
        "cancel": "Abbrechen",
        "thanks_title": "Vielen Dank für Ihre Zahlung",
        "thanks_body": "Wir haben {amount} erhalten.",
        "thanks_paid": "Bezahlt",
        "thanks_settled": "Diese Rechnung ist vollständig bezahlt.",
        "thanks_left": "Noch offen: {amount}",
        "thanks_credit": "{amount} schreiben wir Ihnen gut.",
        "back": "Zurück zur Übersicht",
    },
}


def page_language(code: str | None) -> str:
    """The supported language for a code such as "de", "de-AT" or "en_GB"."""
    base = (code or "").replace("_", "-").split("-")[0].lower()
    return base if base in TEXTS else DEFAULT_LANGUAGE


def texts_for(language: str) -> dict[str, str]:
    return TEXTS[page_language(language)]
