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
        "language_label": "Language",
        "switch_language": "Show this page in {language}",
        "pay_amount": "Amount to pay now (optional)",
        "pay_amount_hint": "Leave empty to pay the selected invoices in full.",
        "left_out_reason": "Why are you leaving invoices out? (optional)",
        "left_out_hint": "For example: goods returned. The company will see this.",
        "amount_invalid": (
            "Please enter an amount above zero and at most the total of the "
            "selected invoices."
        ),
        "ways_out": "Other ways to settle invoice {number}",
        "way_out_unavailable": "This option is not available for this invoice.",
        "instalments_title": "Pay in instalments",
        "instalments_months": "Number of monthly instalments",
        "instalments_month_option": "{months} months",
        "instalments_preview": "Show the instalment plan",
        "instalments_refused": "This instalment plan is not possible for this invoice.",
        "instalments_none": "Instalments are not available for this invoice.",
        "schedule_title": "Your instalment plan for invoice {number}",
        "schedule_intro": (
            "Please check the plan. It takes effect when you confirm it; we will "
            "send you the schedule by e-mail."
        ),
        "schedule_interest": "Interest for the plan",
        "schedule_total": "Total of the instalments",
        "schedule_position": "Instalment",
        "schedule_due": "Due on",
        "schedule_amount": "Amount",
        "sepa_title": "Pay by SEPA direct debit (optional)",
        "sepa_iban": "IBAN of your account",
        "sepa_holder": "Account holder",
        "sepa_consent": (
            "If you give an IBAN, you authorise {creditor} to collect the "
            "instalments from this account by SEPA direct debit."
        ),
        "iban_invalid": "This IBAN is not valid. Please check it.",
        "schedule_confirm": "Confirm instalment plan",
        "plan_agreed": (
            "Your instalment plan is set up. We have sent you the schedule by e-mail."
        ),
        "plan_mail_subject": "Your instalment plan for invoice {number}",
        "plan_mail_body": (
            "Hello {name},\n\nthank you for agreeing an instalment plan with "
            "{creditor}. The schedule is attached.\n"
        ),
        "plan_pdf_title": "Instalment plan",
        "plan_pdf_for": "Invoice {number}, agreed on {date}",
        "plan_pdf_mandate": "SEPA direct debit mandate {reference} of {date}, "
        "account ending in {iban_end}",
        "promise_title": "Pay later",
        "promise_date": "I will pay the full amount by",
        "promise_hint": "Choose a date up to {date}.",
        "promise_submit": "Promise to pay by this date",
        "promise_refused": "Please choose a date within the range shown.",
        "promise_made": "Thank you. We will not remind you before {date}.",
        "already_paid_title": "I have already paid",
        "already_paid_note": "When and how did you pay? (optional)",
        "already_paid_submit": "Tell us you have paid",
        "already_paid_done": (
            "Thank you. We will check our accounts and not remind you in the meantime."
        ),
        "dispute_title": "I disagree with this invoice",
        "dispute_reason": "What is wrong with the invoice?",
        "dispute_submit": "Dispute the invoice",
        "dispute_reason_missing": "Please tell us what is wrong with the invoice.",
        "dispute_done": (
            "Thank you. A member of staff will look into it; until then you "
            "will get no reminders about this invoice."
        ),
        "preferences_link": "How we contact you",
        "preferences_title": "How we contact you",
        "preferences_channel": "Preferred channel",
        "preferences_channel_none": "No preference",
        "preferences_from": "Contact me from",
        "preferences_until": "until",
        "preferences_window_hint": "Both times, or neither.",
        "preferences_language": "Language of our messages",
        "preferences_save": "Save preferences",
        "preferences_saved": "Your preferences are saved.",
        "preferences_refused": "Please check your choices.",
        "preferences_no_address": (
            "We have no address for this channel. Please choose another one."
        ),
        "channel_email": "E-mail",
        "channel_sms": "SMS",
        "channel_whatsapp": "WhatsApp",
        "channel_letter": "Letter",
        "language_en": "English",
        "language_de": "Deutsch",
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
        "language_label": "Sprache",
        "switch_language": "Diese Seite auf {language} anzeigen",
        "pay_amount": "Jetzt zu zahlender Betrag (optional)",
        "pay_amount_hint": (
            "Leer lassen, um die ausgewählten Rechnungen vollständig zu bezahlen."
        ),
        "left_out_reason": "Warum lassen Sie Rechnungen aus? (optional)",
        "left_out_hint": (
            "Zum Beispiel: Ware zurückgeschickt. Das Unternehmen sieht dies."
        ),
        "amount_invalid": (
            "Bitte geben Sie einen Betrag über null und höchstens die Summe der "
            "ausgewählten Rechnungen ein."
        ),
        "ways_out": "Andere Wege für Rechnung {number}",
        "way_out_unavailable": "Diese Möglichkeit gibt es für diese Rechnung nicht.",
        "instalments_title": "In Raten zahlen",
        "instalments_months": "Anzahl der Monatsraten",
        "instalments_month_option": "{months} Monate",
        "instalments_preview": "Ratenplan anzeigen",
        "instalments_refused": (
            "Dieser Ratenplan ist für diese Rechnung nicht möglich."
        ),
        "instalments_none": "Ratenzahlung ist für diese Rechnung nicht möglich.",
        "schedule_title": "Ihr Ratenplan für Rechnung {number}",
        "schedule_intro": (
            "Bitte prüfen Sie den Plan. Er gilt, sobald Sie ihn bestätigen; den "
            "Zahlungsplan schicken wir Ihnen per E-Mail."
        ),
        "schedule_interest": "Zinsen für den Ratenplan",
        "schedule_total": "Summe der Raten",
        "schedule_position": "Rate",
        "schedule_due": "Fällig am",
        "schedule_amount": "Betrag",
        "sepa_title": "Per SEPA-Lastschrift zahlen (optional)",
        "sepa_iban": "IBAN Ihres Kontos",
        "sepa_holder": "Kontoinhaber",
        "sepa_consent": (
            "Mit Angabe einer IBAN ermächtigen Sie {creditor}, die Raten per "
            "SEPA-Lastschrift von diesem Konto einzuziehen."
        ),
        "iban_invalid": "Diese IBAN ist nicht gültig. Bitte prüfen Sie sie.",
        "schedule_confirm": "Ratenplan bestätigen",
        "plan_agreed": (
            "Ihr Ratenplan ist eingerichtet. Den Zahlungsplan haben wir Ihnen per "
            "E-Mail geschickt."
        ),
        "plan_mail_subject": "Ihr Ratenplan für Rechnung {number}",
        "plan_mail_body": (
            "Guten Tag {name},\n\nvielen Dank für Ihre Ratenvereinbarung mit "
            "{creditor}. Den Zahlungsplan finden Sie im Anhang.\n"
        ),
        "plan_pdf_title": "Ratenplan",
        "plan_pdf_for": "Rechnung {number}, vereinbart am {date}",
        "plan_pdf_mandate": "SEPA-Lastschriftmandat {reference} vom {date}, "
        "Konto endet auf {iban_end}",
        "promise_title": "Später zahlen",
        "promise_date": "Ich zahle den vollen Betrag bis",
        "promise_hint": "Wählen Sie ein Datum bis zum {date}.",
        "promise_submit": "Zahlung bis zu diesem Datum zusagen",
        "promise_refused": "Bitte wählen Sie ein Datum im angegebenen Zeitraum.",
        "promise_made": "Vielen Dank. Vor dem {date} erinnern wir Sie nicht.",
        "already_paid_title": "Ich habe schon bezahlt",
        "already_paid_note": "Wann und wie haben Sie bezahlt? (optional)",
        "already_paid_submit": "Zahlung melden",
        "already_paid_done": (
            "Vielen Dank. Wir prüfen unsere Konten und erinnern Sie in der "
            "Zwischenzeit nicht."
        ),
        "dispute_title": "Ich bin mit der Rechnung nicht einverstanden",
        "dispute_reason": "Was stimmt an der Rechnung nicht?",
        "dispute_submit": "Rechnung beanstanden",
        "dispute_reason_missing": (
            "Bitte sagen Sie uns, was an der Rechnung nicht stimmt."
        ),
        "dispute_done": (
            "Vielen Dank. Eine Mitarbeiterin oder ein Mitarbeiter prüft das; bis "
            "dahin erhalten Sie zu dieser Rechnung keine Mahnungen."
        ),
        "preferences_link": "Wie wir Sie erreichen",
        "preferences_title": "Wie wir Sie erreichen",
        "preferences_channel": "Bevorzugter Weg",
        "preferences_channel_none": "Keine Vorliebe",
        "preferences_from": "Kontakt ab",
        "preferences_until": "bis",
        "preferences_window_hint": "Beide Uhrzeiten oder keine.",
        "preferences_language": "Sprache unserer Nachrichten",
        "preferences_save": "Einstellungen speichern",
        "preferences_saved": "Ihre Einstellungen sind gespeichert.",
        "preferences_refused": "Bitte prüfen Sie Ihre Angaben.",
        "preferences_no_address": (
            "Für diesen Weg haben wir keine Adresse. Bitte wählen Sie einen anderen."
        ),
        "channel_email": "E-Mail",
        "channel_sms": "SMS",
        "channel_whatsapp": "WhatsApp",
        "channel_letter": "Brief",
        "language_en": "English",
        "language_de": "Deutsch",
    },
}


def page_language(code: str | None) -> str:
    """The supported language for a code such as "de", "de-AT" or "en_GB"."""
    base = (code or "").replace("_", "-").split("-")[0].lower()
    return base if base in TEXTS else DEFAULT_LANGUAGE


def texts_for(language: str) -> dict[str, str]:
    return TEXTS[page_language(language)]
