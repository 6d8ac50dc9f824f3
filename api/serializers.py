"""What the API reads and writes, field by field.

Amounts travel as strings with the currency's own decimals ("120.00", JPY
"1200"); input amounts with more decimals than the currency has are refused,
never rounded, and so are exponents ("1e3"), NaN and infinities.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.calendar import book_date_problem
from core.money import PLAIN_DECIMAL, PLAIN_HINT, currency_problem, round_money
from customers.models import (
    Channel,
    Customer,
    validate_language,
    validate_time_zone,
)
from delivery.models import DeliveryEvent
from dunning.models import Case
from messaging.models import Message, MessageItem
from payments.models import (
    CreditNote,
    Instalment,
    InstalmentPlan,
    Invoice,
    Payment,
)
from personalisation.models import Decision

# Delivery events reported by an ERP are accepted from this moment on.
EVENTS_SINCE = datetime(2000, 1, 1, tzinfo=UTC)

MAX_BATCH = 1000
AMOUNT = {"max_digits": 18, "decimal_places": 6}
_WHOLE_DIGITS = AMOUNT["max_digits"] - AMOUNT["decimal_places"]
AMOUNT_PATTERN = (
    rf"^-?[0-9]{{1,{_WHOLE_DIGITS}}}(\.[0-9]{{1,{AMOUNT['decimal_places']}}})?$"
)


def _text(max_length: int, **kw):
    return serializers.CharField(
        max_length=max_length, required=False, allow_blank=True, **kw
    )


def _key(help_text: str):
    return serializers.CharField(max_length=100, help_text=help_text)


class CurrencyField(serializers.RegexField):
    def __init__(self, **kw):
        super().__init__(r"^[A-Z]{3}$", help_text="ISO 4217 code, e.g. EUR", **kw)

    def to_internal_value(self, data):
        code = super().to_internal_value(data)
        problem = currency_problem(code)
        if problem:
            raise serializers.ValidationError(problem)
        return code


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": AMOUNT_PATTERN,
        "example": "120.00",
    }
)
class AmountField(serializers.DecimalField):
    """An amount as a plain decimal string ("120.50") or a JSON number."""

    default_error_messages = {"plain": f"Must be {PLAIN_HINT}."}

    def __init__(self, **kw):
        super().__init__(**AMOUNT, **kw)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, float):
            # JSON numbers arrive as floats (1e3 and 1000.0 alike); the float's
            # shortest form, written out, is the number that was sent.
            data = format(Decimal(repr(data)), "f")
        text = str(data).strip()
        if len(text) > self.MAX_STRING_LENGTH:
            self.fail("max_string_length")
        if not PLAIN_DECIMAL.fullmatch(text):
            self.fail("plain")
        value = super().to_internal_value(text)
        # "-0" is zero, not a negative amount.
        return abs(value) if value.is_zero() else value


class BookDateField(serializers.DateField):
    """A date in the books: between 1900 and 2999, so that a mistyped year
    (0202, 20260) is refused rather than dunned (`core.calendar`)."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        problem = book_date_problem(day, "The date")
        if problem:
            raise serializers.ValidationError(problem + ".")
        return day


def check_amount(amount, currency: str, name: str = "amount") -> None:
    """A positive amount in whole minor units of its currency."""
    if amount <= 0:
        raise serializers.ValidationError({name: "Must be positive."})
    if amount != round_money(amount, currency):
        raise serializers.ValidationError(
            {name: f"Has more decimals than {currency} allows."}
        )


class MoneyMixin:
    """Amount fields rendered in the minor units of the row's currency."""

    money_fields: tuple[str, ...] = ()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in self.money_fields:
            value = getattr(instance, name)
            if value is not None:
                data[name] = str(round_money(value, instance.currency))
        return data


# --- batch input ---------------------------------------------------------------


class CustomerItemSerializer(serializers.Serializer):
    """A customer; on an existing one only the fields sent change."""

    external_id = _key("The customer's id in your system")
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(Customer.Kind.choices, required=False)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    phone = _text(40)
    street = _text(200)
    postcode = _text(20)
    city = _text(100)
    country = serializers.RegexField(r"^[A-Z]{2}$", required=False)
    subdivision = _text(
        10, help_text="Region for public holidays (ISO 3166-2 without the country)"
    )
    language = serializers.CharField(
        max_length=8,
        required=False,
        validators=[validate_language],
        help_text="A language code such as de, en or de-AT; messages and the "
        "debtor page are in en or de, other languages read English",
    )
    time_zone = serializers.CharField(
        max_length=64, required=False, validators=[validate_time_zone]
    )
    birth_year = serializers.IntegerField(
        min_value=1900, max_value=2100, required=False, allow_null=True
    )
    customer_since = serializers.DateField(required=False, allow_null=True)
    segment = _text(50)
    consent_email = serializers.BooleanField(required=False)
    consent_sms = serializers.BooleanField(required=False)
    consent_whatsapp = serializers.BooleanField(required=False)
    consent_letter = serializers.BooleanField(required=False)
    preferred_channel = serializers.ChoiceField(
        Channel.choices, required=False, allow_blank=True
    )


class InvoiceItemSerializer(serializers.Serializer):
    external_id = _key("The claim's id in your system")
    customer_external_id = _key("The customer's id in your system")
    number = _text(100, help_text="Invoice number; the external id if empty")
    currency = CurrencyField()
    amount = AmountField()
    issued_on = BookDateField()
    due_on = BookDateField()
    description = _text(300)

    def validate(self, data):
        check_amount(data["amount"], data["currency"])
        if data["due_on"] < data["issued_on"]:
            raise serializers.ValidationError(
                {"due_on": "The due date is before the invoice date."}
            )
        return data


class CreditNoteItemSerializer(serializers.Serializer):
    external_id = _key("The credit note's id in your system")
    invoice_external_id = _key("The claim it reduces")
    amount = AmountField()
    currency = CurrencyField(required=False)
    issued_on = BookDateField()
    reason = _text(300)
    status = serializers.ChoiceField(
        CreditNote.Status.choices,
        default=CreditNote.Status.POSTED,
        help_text="Only a posted note reduces the claim",
    )

    def validate(self, data):
        if data["amount"] <= 0:
            raise serializers.ValidationError({"amount": "Must be positive."})
        if data.get("currency"):
            check_amount(data["amount"], data["currency"])
        return data


class PaymentItemSerializer(serializers.Serializer):
    external_id = _key("The payment's id in your system")
    customer_external_id = _key("The payer's id in your system")
    amount = AmountField()
    currency = CurrencyField()
    received_on = BookDateField()
    invoice_external_id = _text(
        100, help_text="The claim the payer named; paid first, the rest oldest first"
    )
    method = _text(30)
    reference = _text(200)

    def validate(self, data):
        check_amount(data["amount"], data["currency"])
        return data


def _batch(item_serializer, name: str):
    return type(
        name,
        (serializers.Serializer,),
        {
            "creditor": serializers.IntegerField(
                required=False,
                help_text="The creditor the items belong to; may be left out "
                "when the token has one creditor",
            ),
            "items": item_serializer(many=True, min_length=1, max_length=MAX_BATCH),
        },
    )


CustomerBatchSerializer = _batch(CustomerItemSerializer, "CustomerBatchSerializer")
InvoiceBatchSerializer = _batch(InvoiceItemSerializer, "InvoiceBatchSerializer")
CreditNoteBatchSerializer = _batch(
    CreditNoteItemSerializer, "CreditNoteBatchSerializer"
)
PaymentBatchSerializer = _batch(PaymentItemSerializer, "PaymentBatchSerializer")


class BatchEnvelopeSerializer(serializers.Serializer):
    """The batch's frame, checked before its items (each on its own)."""

    creditor = serializers.IntegerField(required=False)
    items = serializers.ListField(
        child=serializers.JSONField(), min_length=1, max_length=MAX_BATCH
    )


class BatchItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    external_id = serializers.CharField()
    id = serializers.IntegerField()
    result = serializers.ChoiceField(["created", "updated", "unchanged"])


class BatchResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    items = BatchItemResultSerializer(many=True)


# --- reading -------------------------------------------------------------------


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = [
            "id",
            "creditor",
            "external_id",
            "kind",
            "name",
            "email",
            "phone",
            "street",
            "postcode",
            "city",
            "country",
            "subdivision",
            "language",
            "time_zone",
            "birth_year",
            "customer_since",
            "segment",
            "consent_email",
            "consent_sms",
            "consent_whatsapp",
            "consent_letter",
            "preferred_channel",
            "email_undeliverable_since",
            "phone_undeliverable_since",
            "created_at",
            "updated_at",
        ]


class InvoiceSerializer(MoneyMixin, serializers.ModelSerializer):
    money_fields = ("amount", "open_amount")
    customer_external_id = serializers.CharField(source="customer.external_id")

    class Meta:
        model = Invoice
        fields = [
            "id",
            "creditor",
            "external_id",
            "customer",
            "customer_external_id",
            "number",
            "currency",
            "amount",
            "open_amount",
            "issued_on",
            "due_on",
            "description",
            "status",
            "settled_on",
            "created_at",
            "updated_at",
        ]


class CreditNoteSerializer(MoneyMixin, serializers.ModelSerializer):
    money_fields = ("amount",)
    customer_external_id = serializers.CharField(source="customer.external_id")
    invoice_external_id = serializers.CharField(source="invoice.external_id")

    class Meta:
        model = CreditNote
        fields = [
            "id",
            "creditor",
            "external_id",
            "customer",
            "customer_external_id",
            "invoice",
            "invoice_external_id",
            "amount",
            "currency",
            "issued_on",
            "status",
            "reason",
            "created_at",
        ]


class PaymentSerializer(MoneyMixin, serializers.ModelSerializer):
    money_fields = ("amount", "unallocated_amount")
    customer_external_id = serializers.CharField(source="customer.external_id")
    invoice_external_id = serializers.CharField(
        source="invoice.external_id", allow_null=True, default=None
    )

    class Meta:
        model = Payment
        fields = [
            "id",
            "creditor",
            "external_id",
            "customer",
            "customer_external_id",
            "amount",
            "currency",
            "received_on",
            "method",
            "source",
            "reference",
            "invoice",
            "invoice_external_id",
            "unallocated_amount",
            "refunded_amount",
            "reversed_on",
            "reversal_reason",
            "created_at",
        ]


class StepSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    name = serializers.CharField()
    action = serializers.CharField()


class CaseSerializer(serializers.ModelSerializer):
    invoice_external_id = serializers.CharField(source="invoice.external_id")
    invoice_number = serializers.CharField(source="invoice.number")
    customer_external_id = serializers.CharField(source="customer.external_id")
    plan = serializers.CharField(source="plan.name")
    current_step = StepSerializer(allow_null=True)
    open_amount = serializers.SerializerMethodField()
    currency = serializers.CharField(source="invoice.currency")

    class Meta:
        model = Case
        fields = [
            "id",
            "creditor",
            "state",
            "invoice",
            "invoice_external_id",
            "invoice_number",
            "customer",
            "customer_external_id",
            "plan",
            "current_step",
            "last_step_on",
            "paused_until",
            "opened_on",
            "closed_at",
            "open_amount",
            "currency",
            "updated_at",
        ]

    def get_open_amount(self, case) -> str:
        invoice = case.invoice
        return str(round_money(invoice.open_amount, invoice.currency))


class DecisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Decision
        fields = [
            "action",
            "channel",
            "send_at",
            "tone",
            "variant",
            "language",
            "payment_options",
            "reasons",
            "scores",
            "policy",
            "model_version",
            "created_at",
        ]


class MessageItemSerializer(MoneyMixin, serializers.ModelSerializer):
    money_fields = ("open_amount",)
    invoice_external_id = serializers.CharField(source="invoice.external_id")

    class Meta:
        model = MessageItem
        fields = [
            "invoice",
            "invoice_external_id",
            "level",
            "action",
            "open_amount",
            "currency",
        ]


class MessageSerializer(serializers.ModelSerializer):
    customer_external_id = serializers.CharField(source="customer.external_id")
    items = MessageItemSerializer(many=True)
    decision = DecisionSerializer()

    class Meta:
        model = Message
        fields = [
            "id",
            "creditor",
            "customer",
            "customer_external_id",
            "channel",
            "status",
            "status_reason",
            "action_date",
            "scheduled_at",
            "sent_at",
            "language",
            "tone",
            "subject",
            "items",
            "decision",
            "created_at",
        ]


class InstalmentSerializer(MoneyMixin, serializers.ModelSerializer):
    money_fields = ("amount",)

    class Meta:
        model = Instalment
        fields = ["position", "due_on", "amount"]

    def to_representation(self, instance):
        # The plan's currency, not a field of the instalment.
        instance.currency = instance.plan.currency
        return super().to_representation(instance)


class InstalmentPlanSerializer(MoneyMixin, serializers.ModelSerializer):
    money_fields = ("total",)
    invoice_external_id = serializers.CharField(source="invoice.external_id")
    instalments = InstalmentSerializer(many=True)

    class Meta:
        model = InstalmentPlan
        fields = [
            "id",
            "creditor",
            "external_id",
            "invoice",
            "invoice_external_id",
            "currency",
            "total",
            "agreed_on",
            "status",
            "status_reason",
            "ended_on",
            "instalments",
            "created_at",
        ]


# --- writing one thing ---------------------------------------------------------


class InstalmentInputSerializer(serializers.Serializer):
    due_on = BookDateField()
    amount = AmountField(min_value=0)


class InstalmentPlanInputSerializer(serializers.Serializer):
    creditor = serializers.IntegerField(required=False)
    external_id = _key("The plan's id in your system")
    invoice_external_id = _key("The claim the plan pays")
    agreed_on = BookDateField()
    instalments = InstalmentInputSerializer(many=True, min_length=1, max_length=120)


class PauseSerializer(serializers.Serializer):
    until = BookDateField(help_text="Creditor-local date; resumes the day after")
    reason = serializers.CharField(max_length=500)


class PromiseSerializer(serializers.Serializer):
    promised_on = BookDateField(help_text="Creditor-local date to pay by")
    amount = AmountField()


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class ReversalSerializer(serializers.Serializer):
    reversed_on = BookDateField(
        help_text="The day the money came back (the debit was returned)"
    )
    reason = serializers.CharField(
        max_length=300, help_text="e.g. 'SEPA return MD06' or 'insufficient funds'"
    )


class OptionalReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


# --- engagement and delivery events ----------------------------------------------


class DeliveryEventInputSerializer(serializers.Serializer):
    """A status an ERP's own mail system (or web site) reports about a message."""

    event_id = serializers.CharField(
        max_length=200,
        help_text="Your id of this event: sending it again changes nothing",
    )
    message = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="The message's id, as in /messages/"
    )
    kind = serializers.ChoiceField(choices=DeliveryEvent.Kind.choices)
    bounce = serializers.ChoiceField(
        choices=DeliveryEvent.Bounce.choices,
        required=False,
        allow_blank=True,
        help_text="For a bounce: hard (the address is bad: the claims are planned "
        "on the next channel) or soft",
    )
    occurred_at = serializers.DateTimeField()
    reason = _text(200, help_text="What the mail system said, e.g. 'No such mailbox'")

    def validate_occurred_at(self, value):
        # An event before e-mail existed or days ahead is a client's bug; far
        # past dates also come back with local mean time offsets (+00:53:28)
        # that are no RFC 3339 date-time.
        now = timezone.now()
        if not EVENTS_SINCE <= value <= now + timedelta(days=1):
            raise serializers.ValidationError(
                "Must lie between 2000-01-01 and tomorrow."
            )
        return value

    def validate(self, data):
        if data.get("bounce") and data["kind"] != DeliveryEvent.Kind.BOUNCED:
            raise serializers.ValidationError(
                {"bounce": "Only a bounce is hard or soft."}
            )
        if data["kind"] == DeliveryEvent.Kind.BOUNCED and not data.get("bounce"):
            raise serializers.ValidationError(
                {"bounce": "Say whether the bounce is hard or soft."}
            )
        return data


class DeliveryEventSerializer(serializers.ModelSerializer):
    event_id = serializers.CharField(source="provider_event_id")

    class Meta:
        model = DeliveryEvent
        fields = ["id", "event_id", "message", "kind", "bounce", "occurred_at"]
