import re
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from core.calendar import subdivision_problem
from core.money import validate_currency

# A language, perhaps with a script or region: "de", "fil", "de-AT", "zh-Hant".
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,4})?")


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except Exception:
        raise ValidationError(f"{value!r} is not an IANA time zone.") from None


def language_problem(code) -> str | None:
    """Why `code` is no customer language, or None.

    Any language babel knows is accepted, with a region or script if given.
    Messages and the debtor page are written in en and de; a debtor in another
    language ("fr") reads them in English, dates and amounts included
    (`messaging.rendering.message_language`, `portal.texts.page_language`).
    """
    if isinstance(code, str) and LANGUAGE_CODE.fullmatch(code) and _is_locale(code):
        return None
    return f"{code!r} is not a language code such as en, de or fr."


@lru_cache(maxsize=512)
def _is_locale(code: str) -> bool:
    # Cached: an import checks the language of every row.
    try:
        Locale.parse(code, sep="-")
    except (UnknownLocaleError, ValueError):
        return False
    return True


def validate_language(value: str) -> None:
    problem = language_problem(value)
    if problem:
        raise ValidationError(problem, code="language")


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"
    WHATSAPP = "whatsapp", "WhatsApp"
    LETTER = "letter", "Letter"


class AllocationOrder(models.TextChoices):
    """The order of a claim's components a payment settles (comma separated)."""

    # BGB §367: costs, then interest, then principal.
    COSTS_FIRST = "costs,interest,principal", "Costs, interest, principal (BGB §367)"
    PRINCIPAL_FIRST = "principal,interest,costs", "Principal, interest, costs"
    PRINCIPAL_COSTS = "principal,costs,interest", "Principal, costs, interest"


class SecondFactor(models.TextChoices):
    """What a debtor types to prove who they are before the page shows details."""

    NONE = "", "None"
    BIRTH_DATE = "birth_date", "Birth date"
    POSTCODE = "postcode", "Postcode"
    CUSTOMER_NUMBER = "customer_number", "Customer number"


def check_region(place) -> None:
    """A creditor's or customer's region must be one of its country's."""
    problem = subdivision_problem(place.country, place.subdivision)
    if problem:
        raise ValidationError({"subdivision": problem})


class Creditor(models.Model):
    """The company, brand or legal entity that is owed."""

    name = models.CharField(max_length=200, unique=True)
    legal_name = models.CharField(max_length=200, blank=True)
    street = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, default="DE", help_text="ISO 3166 code")
    subdivision = models.CharField(
        max_length=10, blank=True, help_text="Region for public holidays, e.g. BY"
    )
    time_zone = models.CharField(
        max_length=64, default="Europe/Berlin", validators=[validate_time_zone]
    )
    default_currency = models.CharField(
        max_length=3, default="EUR", validators=[validate_currency]
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    iban = models.CharField(max_length=34, blank=True)
    bic = models.CharField(max_length=11, blank=True)
    brand_color = models.CharField(max_length=7, default="#1f4e79")
    default_plan = models.ForeignKey(
        "dunning.Plan",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        limit_choices_to={"replaced_by__isnull": True},
        related_name="+",
        help_text="Plan for claims that no rule assigns; the product default if empty.",
    )
    minimum_amount = models.DecimalField(
        max_digits=18,
        decimal_places=6,
        default=0,
        help_text="Claims whose open amount is below this get no message.",
    )
    consumer_interest_regime = models.ForeignKey(
        "payments.InterestRegime",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Interest on late payment for consumers; empty: none",
    )
    business_interest_regime = models.ForeignKey(
        "payments.InterestRegime",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Interest and flat compensation for businesses; empty: none",
    )
    allocation_order = models.CharField(
        max_length=40,
        choices=AllocationOrder.choices,
        default=AllocationOrder.COSTS_FIRST,
        help_text="Which part of a claim a payment settles first",
    )
    waive_charges_after_principal = models.BooleanField(
        default=False,
        help_text="When a claim's principal is paid or credited, waive the fees "
        "and interest left on it instead of claiming them",
    )
    # What a debtor may choose on the debtor page (portal/ways_out.py).
    instalment_minimum = models.DecimalField(
        max_digits=18,
        decimal_places=6,
        default=25,
        help_text="Smallest instalment a debtor may choose, in the claim's currency",
    )
    instalment_max_months = models.PositiveSmallIntegerField(
        default=6, help_text="Longest instalment plan a debtor may choose (0: none)"
    )
    instalment_interest_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=0,
        help_text="Yearly interest on the balance of an instalment plan, in percent",
    )
    promise_max_days = models.PositiveSmallIntegerField(
        default=30, help_text="How far ahead a debtor may promise to pay (0: never)"
    )
    # Off: every decision for this creditor's debtors comes from the rules
    # alone, whatever model is active (personalisation/propensity.py).
    learning_enabled = models.BooleanField(
        default=True,
        help_text="Let learned models score this creditor's debtors; off means "
        "rules alone",
    )
    # Asked on the debtor page before any detail shows (portal/access.py).
    portal_second_factor = models.CharField(
        max_length=20,
        choices=SecondFactor.choices,
        blank=True,
        help_text="What a debtor must enter before the debtor page shows details",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        super().clean()
        check_region(self)

    def interest_regime_for(self, customer_kind: str):
        """The regime the creditor chose for this kind of customer, or None."""
        if customer_kind == Customer.Kind.BUSINESS:
            return self.business_interest_regime
        return self.consumer_interest_regime

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def local_today(self):
        return timezone.now().astimezone(self.zone).date()


class Customer(models.Model):
    """Who owes: a consumer or a business, with contact data and consents."""

    class Kind(models.TextChoices):
        CONSUMER = "consumer", "Consumer"
        BUSINESS = "business", "Business"

    creditor = models.ForeignKey(Creditor, on_delete=models.PROTECT)
    external_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CONSUMER)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True, help_text="E.164, e.g. +4930…")
    street = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, default="DE")
    subdivision = models.CharField(
        max_length=10,
        blank=True,
        help_text="Region for public holidays, e.g. BY (Bavaria); empty: the country's",
    )
    language = models.CharField(
        max_length=8, default="en", validators=[validate_language]
    )
    time_zone = models.CharField(
        max_length=64, default="Europe/Berlin", validators=[validate_time_zone]
    )
    birth_year = models.PositiveSmallIntegerField(null=True, blank=True)
    # Only for the second factor of the debtor page, when a creditor asks for it.
    birth_date = models.DateField(null=True, blank=True)
    customer_since = models.DateField(null=True, blank=True)
    segment = models.CharField(max_length=50, blank=True)
    # Consents per channel: whether the customer may be contacted there.
    consent_email = models.BooleanField(default=True)
    consent_sms = models.BooleanField(default=False)
    consent_whatsapp = models.BooleanField(default=False)
    consent_letter = models.BooleanField(default=True)
    preferred_channel = models.CharField(
        max_length=10, choices=Channel.choices, blank=True
    )
    # The debtor's own time window (in their zone), set on the debtor page;
    # personalisation sends inside it when the contact policy allows.
    contact_from = models.TimeField(null=True, blank=True)
    contact_until = models.TimeField(null=True, blank=True)
    # The debtor's objection to profiling (GDPR art. 21): no model scores
    # them, their decisions come from the rules alone.
    objects_to_profiling = models.BooleanField(
        default=False, help_text="Served by rules alone, never scored by a model"
    )
    # Set by a hard bounce or a failed delivery; cleared when the address changes.
    email_undeliverable_since = models.DateTimeField(null=True, blank=True)
    phone_undeliverable_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "external_id"], name="customer_unique_external_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"

    def clean(self):
        super().clean()
        check_region(self)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def has_consent(self, channel: str) -> bool:
        return bool(getattr(self, f"consent_{channel}", False))

    def has_address_for(self, channel: str) -> bool:
        return not self.address_problem(channel)

    def address_problem(self, channel: str) -> str:
        """Why the customer cannot be reached on `channel`, or "" if they can."""
        if channel == Channel.EMAIL:
            address, bad_since = self.email, self.email_undeliverable_since
        elif channel in (Channel.SMS, Channel.WHATSAPP):
            address, bad_since = self.phone, self.phone_undeliverable_since
        elif channel == Channel.LETTER:
            address, bad_since = bool(self.name and (self.street or self.city)), None
        else:
            return "unknown channel"
        if not address:
            return "no address"
        if bad_since is not None:
            return f"address undeliverable since {bad_since:%Y-%m-%d}"
        return ""

    def age_on(self, day) -> int | None:
        return day.year - self.birth_year if self.birth_year else None

    def email_recipients(self) -> "EmailRecipients":
        """Who an e-mail to this customer is addressed to.

        The customer's own address first; a business's accounts-payable
        addresses join it in To (they pay), its copy addresses go in Cc. The
        caller checks consent and the main address: without them nobody gets it.
        """
        to = [self.email] if self.email else []
        cc: list[str] = []
        if self.kind == self.Kind.BUSINESS and self.pk is not None:
            for extra in self.extra_recipients.order_by("id"):
                if extra.email.lower() in {a.lower() for a in to + cc}:
                    continue
                if extra.kind == ExtraRecipient.Kind.ACCOUNTS_PAYABLE:
                    to.append(extra.email)
                else:
                    cc.append(extra.email)
        return EmailRecipients(to=to, cc=cc)


@dataclass(frozen=True)
class EmailRecipients:
    to: list[str]
    cc: list[str]

    def __str__(self) -> str:
        """All addresses in one line, as `Message.recipient` stores them."""
        text = ", ".join(self.to)
        if self.cc:
            text += "; cc: " + ", ".join(self.cc)
        return text


class ExtraRecipient(models.Model):
    """Another e-mail address of a business customer that gets its messages."""

    class Kind(models.TextChoices):
        ACCOUNTS_PAYABLE = "accounts_payable", "Accounts payable (To)"
        COPY = "copy", "Copy (Cc)"

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="extra_recipients"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.COPY)
    email = models.EmailField()
    name = models.CharField(
        max_length=200, blank=True, help_text="e.g. Accounts payable"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["customer", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "email"], name="extra_recipient_unique_email"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name or self.email}"

    def clean(self):
        # Consumers are addressed personally; copies to third parties would
        # disclose the debt (and need a consent the product does not record).
        customer = getattr(self, "customer", None)
        if customer is not None and customer.kind != Customer.Kind.BUSINESS:
            raise ValidationError(
                "Only business customers can have extra recipients; this customer "
                "is a consumer."
            )
        own = (customer.email or "").lower() if customer is not None else ""
        if own and self.email and self.email.lower() == own:
            raise ValidationError(
                {"email": "This is the customer's own address; it gets e-mails anyway."}
            )
