"""The German and English templates that ship with the product.

One per action, channel and tone, for any step and variant "a", made from the
wording of the file templates (`templates/messaging/`). Managers change them in
the admin; this migration never overwrites an existing row.
"""

from django.db import migrations

ACTIONS = ("reminder", "notice", "final_notice", "handover")
TONES = ("empathetic", "neutral", "firm")
CHANNELS = ("email", "sms", "whatsapp", "letter")

MANY = "{% if items|length > 1 %}"

SUBJECT_PREFIX = {
    "en": {
        "reminder": {
            "empathetic": "Friendly reminder:",
            "neutral": "Payment reminder:",
            "firm": "Payment reminder, overdue:",
        },
        "notice": {
            "empathetic": "Still open – let us find a solution:",
            "neutral": "Dunning notice:",
            "firm": "Dunning notice, payment required:",
        },
        "final_notice": {
            "empathetic": "Final notice – please get in touch:",
            "neutral": "Final notice:",
            "firm": "Final notice:",
        },
        "handover": {
            "empathetic": "Notice of handover – please get in touch:",
            "neutral": "Notice of handover:",
            "firm": "Notice of handover:",
        },
    },
    "de": {
        "reminder": {
            "empathetic": "Freundliche Erinnerung:",
            "neutral": "Zahlungserinnerung:",
            "firm": "Zahlungserinnerung, überfällig:",
        },
        "notice": {
            "empathetic": "Noch offen – wir finden eine Lösung:",
            "neutral": "Mahnung:",
            "firm": "Mahnung, Zahlung erforderlich:",
        },
        "final_notice": {
            "empathetic": "Letzte Mahnung – bitte melden Sie sich:",
            "neutral": "Letzte Mahnung:",
            "firm": "Letzte Mahnung:",
        },
        "handover": {
            "empathetic": "Ankündigung der Abgabe – bitte melden Sie sich:",
            "neutral": "Ankündigung der Abgabe:",
            "firm": "Ankündigung der Abgabe:",
        },
    },
}

SUBJECT_OBJECT = {
    "en": "{% if items|length == 1 %}invoice {{ reference }}"
    "{% else %}{{ items|length }} open invoices{% endif %}",
    "de": "{% if items|length == 1 %}Rechnung {{ reference }}"
    "{% else %}{{ items|length }} offene Rechnungen{% endif %}",
}

INTRO = {
    "en": {
        "reminder": {
            "empathetic": "We hope you are well. An invoice can easily slip through, "
            "so here is a short note: according to our records, "
            f"{MANY}the following invoices are{{% else %}}the following invoice "
            "is{% endif %} still open. If you have already paid, thank you, and "
            "please disregard this message.",
            "neutral": "According to our records, "
            f"{MANY}the following invoices are{{% else %}}the following invoice "
            "is{% endif %} still open. We would be grateful for your payment. If "
            "you have already paid, please disregard this message.",
            "firm": "According to our records, "
            f"{MANY}the following invoices are{{% else %}}the following invoice "
            "is{% endif %} overdue. Please pay the open amount now.",
        },
        "notice": {
            "empathetic": "We have not yet received payment for "
            f"{MANY}the invoices{{% else %}}the invoice{{% endif %}} below. If "
            "something makes paying difficult at the moment, you can arrange an "
            "instalment plan through your personal link – we are glad to find a "
            "way together.",
            "neutral": "Unfortunately, we have not received payment for "
            f"{MANY}the following invoices{{% else %}}the following "
            "invoice{% endif %} despite our reminder. Please pay the open amount "
            "by the date below.",
            "firm": "Despite our reminder, "
            f"{MANY}the following invoices remain{{% else %}}the following "
            "invoice remains{% endif %} unpaid. Please pay the full amount by the "
            "date below without fail.",
        },
        "final_notice": {
            "empathetic": "This is our last notice before we have to take further "
            "steps: if we do not receive payment by the date below, the claim goes "
            "to a collection agency. If you are in difficulty, please get in touch "
            "or arrange an instalment plan through your personal link – we would "
            "much rather find a solution with you.",
            "neutral": "This is our final notice. If we do not receive payment by "
            "the date below, we will hand the claim over to a collection agency, "
            "which will cause further costs for you.",
            "firm": "Final notice: if the full amount is not received by the date "
            "below, we will hand the claim over to a collection agency without "
            "further notice. This will cause further costs for you.",
        },
        "handover": {
            "empathetic": "Despite our final notice, we have not received payment. "
            "We would still much rather find a solution with you: if you are in "
            "difficulty, please get in touch or arrange an instalment plan through "
            "your personal link before the date below. Otherwise the claim goes to "
            "a collection agency, which will cause further costs for you.",
            "neutral": "Despite our final notice, we have not received payment for "
            f"{MANY}the following invoices{{% else %}}the following "
            "invoice{% endif %}. Unless the full amount is received by the date "
            "below, we will hand the claim over to a collection agency, which will "
            "cause further costs for you.",
            "firm": "Despite our final notice, "
            f"{MANY}the following invoices remain{{% else %}}the following "
            "invoice remains{% endif %} unpaid. Unless the full amount is received "
            "by the date below, we will hand the claim over to a collection agency "
            "without further notice. This will cause further costs for you.",
        },
    },
    "de": {
        "reminder": {
            "empathetic": "Im Alltag geht eine Rechnung schnell einmal unter, "
            "deshalb ein kurzer Hinweis: Nach unseren Unterlagen "
            f"{MANY}sind die folgenden Rechnungen{{% else %}}ist die folgende "
            "Rechnung{% endif %} noch offen. Falls Sie bereits bezahlt haben, "
            "danken wir Ihnen und bitten Sie, diese Nachricht zu ignorieren.",
            "neutral": "Nach unseren Unterlagen "
            f"{MANY}sind die folgenden Rechnungen{{% else %}}ist die folgende "
            "Rechnung{% endif %} noch offen. Wir freuen uns über Ihre Zahlung. "
            "Falls Sie bereits bezahlt haben, betrachten Sie diese Nachricht bitte "
            "als gegenstandslos.",
            "firm": "Nach unseren Unterlagen "
            f"{MANY}sind die folgenden Rechnungen{{% else %}}ist die folgende "
            "Rechnung{% endif %} überfällig. Bitte zahlen Sie den offenen Betrag "
            "umgehend.",
        },
        "notice": {
            "empathetic": "Für "
            f"{MANY}die folgenden Rechnungen{{% else %}}die folgende "
            "Rechnung{% endif %} haben wir noch keine Zahlung erhalten. Wenn Ihnen "
            "die Zahlung gerade schwerfällt, können Sie über Ihren persönlichen "
            "Link eine Ratenzahlung vereinbaren – wir finden gern gemeinsam einen "
            "Weg.",
            "neutral": "Leider haben wir für "
            f"{MANY}die folgenden Rechnungen{{% else %}}die folgende "
            "Rechnung{% endif %} trotz unserer Erinnerung noch keine Zahlung "
            "erhalten. Bitte zahlen Sie den offenen Betrag bis zum unten genannten "
            "Datum.",
            "firm": "Trotz unserer Erinnerung "
            f"{MANY}sind die folgenden Rechnungen{{% else %}}ist die folgende "
            "Rechnung{% endif %} weiterhin unbezahlt. Bitte zahlen Sie den vollen "
            "Betrag unbedingt bis zum unten genannten Datum.",
        },
        "final_notice": {
            "empathetic": "Dies ist unsere letzte Mahnung, bevor wir weitere "
            "Schritte einleiten müssen: Geht Ihre Zahlung nicht bis zum unten "
            "genannten Datum ein, geht die Forderung an ein Inkassounternehmen. "
            "Wenn Sie in Schwierigkeiten sind, melden Sie sich bitte oder "
            "vereinbaren Sie über Ihren persönlichen Link eine Ratenzahlung – wir "
            "finden viel lieber mit Ihnen eine Lösung.",
            "neutral": "Dies ist unsere letzte Mahnung. Geht Ihre Zahlung nicht "
            "bis zum unten genannten Datum ein, übergeben wir die Forderung einem "
            "Inkassounternehmen, wodurch Ihnen weitere Kosten entstehen.",
            "firm": "Letzte Mahnung: Geht der volle Betrag nicht bis zum unten "
            "genannten Datum ein, übergeben wir die Forderung ohne weitere "
            "Ankündigung einem Inkassounternehmen. Dadurch entstehen Ihnen "
            "weitere Kosten.",
        },
        "handover": {
            "empathetic": "Trotz unserer letzten Mahnung haben wir noch keine "
            "Zahlung erhalten. Wir finden weiterhin lieber mit Ihnen eine Lösung: "
            "Wenn Sie in Schwierigkeiten sind, melden Sie sich bitte oder "
            "vereinbaren Sie bis zum unten genannten Datum über Ihren persönlichen "
            "Link eine Ratenzahlung. Andernfalls geht die Forderung an ein "
            "Inkassounternehmen, wodurch Ihnen weitere Kosten entstehen.",
            "neutral": "Trotz unserer letzten Mahnung haben wir für "
            f"{MANY}die folgenden Rechnungen{{% else %}}die folgende "
            "Rechnung{% endif %} keine Zahlung erhalten. Geht der volle Betrag "
            "nicht bis zum unten genannten Datum ein, übergeben wir die Forderung "
            "einem Inkassounternehmen, wodurch Ihnen weitere Kosten entstehen.",
            "firm": "Trotz unserer letzten Mahnung "
            f"{MANY}sind die folgenden Rechnungen{{% else %}}ist die folgende "
            "Rechnung{% endif %} weiterhin unbezahlt. Geht der volle Betrag nicht "
            "bis zum unten genannten Datum ein, übergeben wir die Forderung ohne "
            "weitere Ankündigung einem Inkassounternehmen. Dadurch entstehen Ihnen "
            "weitere Kosten.",
        },
    },
}

GREETING = {
    "en": '{% if customer.kind == "business" %}Dear Sir or Madam,'
    "{% else %}Dear {{ customer.name }},{% endif %}",
    "de": '{% if customer.kind == "business" %}Sehr geehrte Damen und Herren,'
    "{% else %}Guten Tag {{ customer.name }},{% endif %}",
}

EMAIL_QUESTIONS = {
    "en": {
        "empathetic": "If you have any questions or need more time, just reply to "
        "this e-mail.",
        "other": "If you have any questions, please reply to this e-mail.",
    },
    "de": {
        "empathetic": "Bei Fragen oder wenn Sie mehr Zeit brauchen, antworten Sie "
        "einfach auf diese E-Mail.",
        "other": "Bei Fragen antworten Sie bitte auf diese E-Mail.",
    },
}

EMAIL_BODY = {
    "en": """GREETING

INTRO

{% for item in items %}
{{ item.number }} – {{ item.action_label }} (level {{ item.level }})
  Invoice date {{ item.issued_on_display }}, due {{ item.due_on_display }}
  Invoice amount {{ item.display.principal }}{% if item.amounts.paid %}, paid or credited {{ item.display.paid }}{% endif %}{% if item.amounts.fees %}, fees {{ item.display.fees }}{% endif %}{% if item.amounts.interest %}, interest {{ item.display.interest }}{% endif %}
  Open: {{ item.display.open }}
{% endfor %}

Total open: {{ total }}
Please pay by {{ deadline_display }}.

See the details and pay online with your personal link:
{{ link }}
{% if payment_options %}
Ways to pay: {% for option in payment_options %}{{ option.label }}{% if not forloop.last %}, {% endif %}{% endfor %}.{% endif %}
{% if creditor.iban %}
Bank transfer to {{ creditor.legal_name|default:creditor.name }}, IBAN {{ creditor.iban }}{% if creditor.bic %}, BIC {{ creditor.bic }}{% endif %}, reference: {{ reference }}
{% endif %}
QUESTIONS

Kind regards
{{ creditor.name }}
""",
    "de": """GREETING

INTRO

{% for item in items %}
{{ item.number }} – {{ item.action_label }} (Stufe {{ item.level }})
  Rechnungsdatum {{ item.issued_on_display }}, fällig am {{ item.due_on_display }}
  Rechnungsbetrag {{ item.display.principal }}{% if item.amounts.paid %}, gezahlt oder gutgeschrieben {{ item.display.paid }}{% endif %}{% if item.amounts.fees %}, Gebühren {{ item.display.fees }}{% endif %}{% if item.amounts.interest %}, Zinsen {{ item.display.interest }}{% endif %}
  Offen: {{ item.display.open }}
{% endfor %}

Offen insgesamt: {{ total }}
Bitte zahlen Sie bis zum {{ deadline_display }}.

Einzelheiten und Online-Zahlung über Ihren persönlichen Link:
{{ link }}
{% if payment_options %}
Zahlungsmöglichkeiten: {% for option in payment_options %}{{ option.label }}{% if not forloop.last %}, {% endif %}{% endfor %}.{% endif %}
{% if creditor.iban %}
Überweisung an {{ creditor.legal_name|default:creditor.name }}, IBAN {{ creditor.iban }}{% if creditor.bic %}, BIC {{ creditor.bic }}{% endif %}, Verwendungszweck: {{ reference }}
{% endif %}
QUESTIONS

Mit freundlichen Grüßen
{{ creditor.name }}
""",
}

LETTER_BODY = {
    "en": """GREETING

INTRO

Please pay the total open amount of {{ total }} by {{ deadline_display }}.

If you have any questions, please contact us{% if creditor.email %} at {{ creditor.email }}{% endif %}{% if creditor.phone %} or call {{ creditor.phone }}{% endif %}.
""",
    "de": """GREETING

INTRO

Bitte zahlen Sie den offenen Gesamtbetrag von {{ total }} bis zum {{ deadline_display }}.

Bei Fragen erreichen Sie uns{% if creditor.email %} unter {{ creditor.email }}{% endif %}{% if creditor.phone %} oder telefonisch unter {{ creditor.phone }}{% endif %}.
""",
}

SMS_PREFIX = {
    "en": {
        "reminder": {"empathetic": "a friendly reminder, ", "other": "payment reminder, "},
        "notice": {"other": "dunning notice, "},
        "final_notice": {"other": "final notice, "},
        "handover": {"other": "notice of handover, "},
    },
    "de": {
        "reminder": {"empathetic": "freundliche Erinnerung, ", "other": "Zahlungserinnerung, "},
        "notice": {"other": "Mahnung, "},
        "final_notice": {"other": "letzte Mahnung, "},
        "handover": {"other": "Ankündigung der Abgabe, "},
    },
}

# A final notice and a handover name the consequence, even in an SMS.
SMS_CONSEQUENCE = {
    "en": " Otherwise the claim goes to a collection agency.",
    "de": " Andernfalls geht die Forderung an ein Inkassounternehmen.",
}

TOTALS = (
    "{% for total in totals %}{{ total.display }}"
    "{% if not forloop.last %} + {% endif %}{% endfor %}"
)

SMS_BODY = {
    "en": "{{ creditor.name|truncatechars:40 }}: PREFIX"
    "{% if items|length == 1 and not compact %}invoice {{ reference }} is"
    "{% else %}{{ items|length }} invoice{{ items|length|pluralize }} "
    '{{ items|length|pluralize:"is,are" }}{% endif %} open'
    "{% if not compact %}: " + TOTALS + "{% endif %}. "
    "Please pay by {{ deadline_display }}.CONSEQUENCE "
    "Details and payment: {{ link }}",
    "de": "{{ creditor.name|truncatechars:40 }}: PREFIX"
    "{% if items|length == 1 and not compact %}Rechnung {{ reference }} ist"
    '{% else %}{{ items|length }} Rechnung{{ items|length|pluralize:"en" }} '
    '{{ items|length|pluralize:"ist,sind" }}{% endif %} offen'
    "{% if not compact %}: " + TOTALS + "{% endif %}. "
    "Bitte zahlen Sie bis zum {{ deadline_display }}.CONSEQUENCE "
    "Details und Zahlung: {{ link }}",
}


def _pick(table: dict, tone: str) -> str:
    return table.get(tone, table["other"])


def default_templates():
    """(action, channel, tone, language, subject, body) for every default."""
    for language in ("en", "de"):
        for action in ACTIONS:
            for tone in TONES:
                subject = (
                    f"{SUBJECT_PREFIX[language][action][tone]} "
                    f"{SUBJECT_OBJECT[language]}"
                )
                intro = INTRO[language][action][tone]
                greeting = GREETING[language]
                for channel in CHANNELS:
                    if channel == "email":
                        body = (
                            EMAIL_BODY[language]
                            .replace("GREETING", greeting)
                            .replace("INTRO", intro)
                            .replace(
                                "QUESTIONS", _pick(EMAIL_QUESTIONS[language], tone)
                            )
                        )
                    elif channel == "letter":
                        body = (
                            LETTER_BODY[language]
                            .replace("GREETING", greeting)
                            .replace("INTRO", intro)
                        )
                    else:
                        consequence = ""
                        if action in ("final_notice", "handover"):
                            consequence = SMS_CONSEQUENCE[language]
                        body = (
                            SMS_BODY[language]
                            .replace("PREFIX", _pick(SMS_PREFIX[language][action], tone))
                            .replace("CONSEQUENCE", consequence)
                        )
                    yield action, channel, tone, language, subject, body


def create(apps, schema_editor):
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    for action, channel, tone, language, subject, body in default_templates():
        MessageTemplate.objects.get_or_create(
            action=action,
            step=None,
            channel=channel,
            tone=tone,
            language=language,
            variant="a",
            defaults={"subject": subject, "body": body},
        )


def remove(apps, schema_editor):
    # Only the defaults nobody changed; edited wording stays.
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    for action, channel, tone, language, subject, body in default_templates():
        MessageTemplate.objects.filter(
            action=action,
            step=None,
            channel=channel,
            tone=tone,
            language=language,
            variant="a",
            subject=subject,
            body=body,
            html_body="",
        ).delete()


class Migration(migrations.Migration):
    dependencies = [("messaging", "0002_message_template")]
    operations = [migrations.RunPython(create, remove)]
