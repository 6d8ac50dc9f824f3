"""The API v1 endpoints.

Every view authenticates the client's token, limits it to its creditors and
throttles it at its own rate (`ClientScoped`). Views check input, call the
services (`api.upserts`, `api.services`, `dunning.services`) and render what
they return; refusals come back in the shape of `api.errors`.
"""

from django.db import IntegrityError
from django.db.models import Prefetch
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers as drf_serializers
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from api import filters, lean, upserts
from api import serializers as s
from api.access import ClientRateThrottle, ClientScope, ClientTokenAuthentication
from api.errors import (
    DETAIL,
    READ,
    WRITE,
    BatchRejected,
    Conflict,
    ErrorSerializer,
    exception_handler,
    responses,
)
from api.idempotency import HEADER, idempotent
from api.pagination import IdCursorPagination
from api.selectors import message_pdf, message_text
from api.services import EventConflict, engagement_record, payment_reversal_record
from customers.models import Creditor, Customer
from dunning import services as casework
from dunning.models import Case
from messaging.models import Message, MessageItem
from payments.instalments import (
    InstalmentPlanConflict,
    InstalmentPlanRefused,
    instalment_plan_record,
)
from payments.models import CreditNote, Instalment, InstalmentPlan, Invoice, Payment
from payments.services import LedgerError

IDEMPOTENCY = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string up to 255 characters (a UUID): a retry with "
    "the same key and body gets the first response again and writes nothing; "
    "the same key with another body is refused (422).",
)


class ClientScoped:
    authentication_classes = [ClientTokenAuthentication]
    permission_classes = [ClientScope]
    throttle_classes = [ClientRateThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]

    def get_exception_handler(self):
        return exception_handler

    @property
    def creditor_ids(self) -> list[int]:
        return self.request.auth.creditor_ids

    @property
    def actor(self) -> str:
        return f"api:{self.request.auth.pk}"

    def creditor_for_write(self, creditor_id: int | None) -> Creditor:
        """The creditor a write names, or the client's only one."""
        ids = self.creditor_ids
        if creditor_id is None:
            if len(ids) != 1:
                raise drf_serializers.ValidationError(
                    {
                        "creditor": [
                            f"This token has {len(ids)} creditors: name one of them."
                        ]
                    }
                )
            creditor_id = ids[0]
        if creditor_id not in ids:
            raise drf_serializers.ValidationError(
                {"creditor": ["Not one of this token's creditors."]}
            )
        return Creditor.objects.get(pk=creditor_id)


class ScopedViewSet(ClientScoped, viewsets.ReadOnlyModelViewSet):
    # Lists and details of the client's creditors' rows; others are not found.
    pagination_class = IdCursorPagination
    filter_backends = [DjangoFilterBackend]
    # Ids that are no numbers reach `not_found`, which answers in JSON.
    lookup_value_converter = "int"

    def get_queryset(self):
        return self.queryset.filter(creditor_id__in=self.creditor_ids)


def _bulk(view, request, item_serializer, upsert, lean_item=None) -> Response:
    """Check the items, then upsert them; `lean_item` checks an item without
    the serializer and returns None for an item only the serializer can judge."""
    checked = lean.envelope(request.data)
    if checked is None:
        envelope = s.BatchEnvelopeSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        checked = envelope.validated_data
    creditor = view.creditor_for_write(checked.get("creditor"))
    items = checked["items"]

    # One serializer for every item: building one per item costs more than
    # validating it.
    child = item_serializer()
    rows, invalid = [], {}
    for index, raw in enumerate(items):
        data = lean_item(raw) if lean_item is not None else None
        if data is not None:
            rows.append((index, data))
            continue
        try:
            rows.append((index, child.run_validation(raw)))
        except drf_serializers.ValidationError as exc:
            detail = exc.detail
            invalid[index] = (
                detail if isinstance(detail, dict) else {"non_field_errors": detail}
            )
    try:
        result = upsert(creditor=creditor, rows=rows, invalid=invalid, actor=view.actor)
    except upserts.BatchInvalid as exc:
        raise BatchRejected(exc.errors, items) from None
    except IntegrityError:
        raise Conflict(
            "A request running at the same time wrote some of these records; "
            "send the batch again."
        ) from None
    return Response(result.as_json())


def _bulk_schema(batch, what: str):
    return extend_schema(
        summary=f"Create or update {what} by external id",
        description=f"Up to {s.MAX_BATCH} {what} per request, all or nothing. "
        "Sending the same batch again changes nothing. If any item is invalid, "
        "nothing is written and the response lists every invalid item with its "
        "index.",
        request=batch,
        responses=responses({200: s.BatchResultSerializer}, WRITE),
        parameters=[IDEMPOTENCY],
    )


def _read_schema(serializer):
    return {
        "list": extend_schema(responses=responses({200: serializer(many=True)}, READ)),
        "retrieve": extend_schema(responses=responses({200: serializer}, DETAIL)),
    }


@extend_schema_view(**_read_schema(s.CustomerSerializer))
class CustomerViewSet(ScopedViewSet):
    """Debtors: consumers and businesses with contact data and consents."""

    queryset = Customer.objects.all()
    serializer_class = s.CustomerSerializer
    filterset_class = filters.CustomerFilter

    @_bulk_schema(s.CustomerBatchSerializer, "customers")
    @action(detail=False, methods=["post"])
    @idempotent
    def bulk(self, request):
        return _bulk(self, request, s.CustomerItemSerializer, upserts.customers_upsert)


@extend_schema_view(**_read_schema(s.InvoiceSerializer))
class InvoiceViewSet(ScopedViewSet):
    """Claims with their open amount, which follows from the ledger."""

    queryset = Invoice.objects.select_related("customer")
    serializer_class = s.InvoiceSerializer
    filterset_class = filters.InvoiceFilter

    @_bulk_schema(s.InvoiceBatchSerializer, "claims (invoices)")
    @action(detail=False, methods=["post"])
    @idempotent
    def bulk(self, request):
        return _bulk(
            self,
            request,
            s.InvoiceItemSerializer,
            upserts.invoices_upsert,
            lean.invoice_item,
        )


@extend_schema_view(**_read_schema(s.CreditNoteSerializer))
class CreditNoteViewSet(ScopedViewSet):
    """Credit notes; a posted one reduces its claim's principal."""

    queryset = CreditNote.objects.select_related("customer", "invoice")
    serializer_class = s.CreditNoteSerializer
    filterset_class = filters.CreditNoteFilter

    @_bulk_schema(s.CreditNoteBatchSerializer, "credit notes")
    @action(detail=False, methods=["post"])
    @idempotent
    def bulk(self, request):
        return _bulk(
            self, request, s.CreditNoteItemSerializer, upserts.credit_notes_upsert
        )


@extend_schema_view(**_read_schema(s.PaymentSerializer))
class PaymentViewSet(ScopedViewSet):
    """Payments and how much of each is left as the customer's credit."""

    queryset = Payment.objects.select_related("customer", "invoice")
    serializer_class = s.PaymentSerializer
    filterset_class = filters.PaymentFilter

    @_bulk_schema(s.PaymentBatchSerializer, "payments")
    @action(detail=False, methods=["post"])
    @idempotent
    def bulk(self, request):
        """Payments are allocated as they come; the claims they reach are
        evaluated at once (cases closed, queued messages cancelled)."""
        return _bulk(self, request, s.PaymentItemSerializer, upserts.payments_upsert)

    @extend_schema(
        summary="Reverse a payment that failed (a returned direct debit)",
        description="The payment's allocations are booked back: the claims it "
        "settled are open again, their cases go back to dunning and are "
        "dunned at once by a django-q2 task. Reversing a payment again changes "
        "nothing.",
        request=s.ReversalSerializer,
        responses=responses({200: s.PaymentSerializer}, WRITE),
        parameters=[IDEMPOTENCY],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def reverse(self, request, pk=None):
        payment = self.get_object()
        data = s.ReversalSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            payment_reversal_record(
                payment=payment, actor=self.actor, **data.validated_data
            )
        except LedgerError as exc:
            raise Conflict(str(exc)) from None
        return Response(
            self.get_serializer(self.get_queryset().get(pk=payment.pk)).data
        )


def _case_action(input_serializer, summary: str):
    return extend_schema(
        summary=summary,
        request=input_serializer,
        responses=responses({200: s.CaseSerializer}, WRITE),
        parameters=[IDEMPOTENCY],
    )


@extend_schema_view(**_read_schema(s.CaseSerializer))
class CaseViewSet(ScopedViewSet):
    """Dunning cases and the case work allowed in each state."""

    queryset = Case.objects.select_related(
        "invoice", "customer", "plan", "current_step"
    )
    serializer_class = s.CaseSerializer
    filterset_class = filters.CaseFilter

    def _work(self, service, input_serializer, **fixed) -> Response:
        case = self.get_object()
        data = input_serializer(data=self.request.data)
        data.is_valid(raise_exception=True)
        try:
            service(case_id=case.pk, actor=self.actor, **fixed, **data.validated_data)
        except (casework.CaseWorkError, LedgerError) as exc:
            raise Conflict(str(exc)) from None
        return Response(self.get_serializer(self.get_queryset().get(pk=case.pk)).data)

    @_case_action(s.PauseSerializer, "Pause dunning until a date")
    @action(detail=True, methods=["post"])
    @idempotent
    def pause(self, request, pk=None):
        return self._work(casework.case_pause, s.PauseSerializer)

    @_case_action(s.OptionalReasonSerializer, "End a pause now")
    @action(detail=True, methods=["post"])
    @idempotent
    def resume(self, request, pk=None):
        return self._work(casework.case_resume, s.OptionalReasonSerializer)

    @_case_action(s.PromiseSerializer, "Record a promise to pay")
    @action(detail=True, methods=["post"])
    @idempotent
    def promise(self, request, pk=None):
        return self._work(casework.case_promise, s.PromiseSerializer)

    @_case_action(s.ReasonSerializer, "Mark the claim disputed")
    @action(detail=True, methods=["post"])
    @idempotent
    def dispute(self, request, pk=None):
        return self._work(casework.case_dispute, s.ReasonSerializer)

    @_case_action(s.ReasonSerializer, "Resolve a dispute: dunning goes on")
    @action(detail=True, methods=["post"], url_path="resolve-dispute")
    @idempotent
    def resolve_dispute(self, request, pk=None):
        return self._work(casework.case_resolve_dispute, s.ReasonSerializer)

    @_case_action(s.ReasonSerializer, "Write off the claim and close the case")
    @action(detail=True, methods=["post"], url_path="write-off")
    @idempotent
    def write_off(self, request, pk=None):
        return self._work(casework.case_write_off, s.ReasonSerializer)

    @_case_action(s.ReasonSerializer, "Hand the claim over to a collection agency")
    @action(detail=True, methods=["post"], url_path="hand-over")
    @idempotent
    def hand_over(self, request, pk=None):
        return self._work(casework.case_hand_over, s.ReasonSerializer)


class ContentNegotiation(DefaultContentNegotiation):
    """Content endpoints answer in their own type whatever the Accept header
    asks for; their errors, like all others, are JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        view = request.parser_context.get("view")
        if getattr(view, "action", None) in ("text", "pdf"):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


def _content_schema(media_type: str, summary: str):
    return extend_schema(
        summary=summary,
        responses=responses(
            {
                (200, media_type): OpenApiResponse(OpenApiTypes.BINARY),
                409: OpenApiResponse(
                    ErrorSerializer, description="The message cannot be rendered."
                ),
            },
            DETAIL,
        ),
    )


@extend_schema_view(**_read_schema(s.MessageSerializer))
class MessageViewSet(ScopedViewSet):
    """Messages to debtors with the decision behind each (channel, time,
    tone, payment options, reasons and scores)."""

    queryset = Message.objects.select_related("customer", "decision").prefetch_related(
        Prefetch("items", MessageItem.objects.select_related("invoice"))
    )
    serializer_class = s.MessageSerializer
    filterset_class = filters.MessageFilter
    content_negotiation_class = ContentNegotiation

    def _content(self, render):
        message = self.get_object()
        try:
            return render(message)
        except ValueError as exc:
            raise Conflict(f"Message {message.pk} cannot be rendered: {exc}") from None

    @_content_schema("text/plain", "The message's subject and text")
    @action(detail=True, methods=["get"])
    def text(self, request, pk=None):
        subject, text, _html = self._content(message_text)
        content = f"{subject}\n\n{text}" if subject else text
        return HttpResponse(content, content_type="text/plain; charset=utf-8")

    @_content_schema("application/pdf", "The message as PDF (a letter as printed)")
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        pdf = self._content(message_pdf)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="message-{pk}.pdf"'
        return response


@extend_schema_view(
    **_read_schema(s.InstalmentPlanSerializer),
    create=extend_schema(
        summary="Record an instalment plan agreed elsewhere",
        description="The instalments must add up to the claim's open amount and "
        "be due on ascending dates. The claim's case goes into the plan (no "
        "reminders while it is kept); a disputed or handed-over case is a "
        "conflict. The same plan sent again is answered with 200 and changes "
        "nothing.",
        request=s.InstalmentPlanInputSerializer,
        responses=responses(
            {201: s.InstalmentPlanSerializer, 200: s.InstalmentPlanSerializer},
            WRITE,
        ),
        parameters=[IDEMPOTENCY],
    ),
)
class InstalmentPlanViewSet(ScopedViewSet):
    """Instalment plans agreed outside the product or on the debtor page."""

    queryset = InstalmentPlan.objects.select_related("invoice").prefetch_related(
        Prefetch("instalments", Instalment.objects.select_related("plan"))
    )
    serializer_class = s.InstalmentPlanSerializer
    filterset_class = filters.InstalmentPlanFilter

    @idempotent
    def create(self, request):
        data = s.InstalmentPlanInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        creditor = self.creditor_for_write(values.get("creditor"))
        invoice = Invoice.objects.filter(
            creditor=creditor, external_id=values["invoice_external_id"]
        ).first()
        if invoice is None:
            raise drf_serializers.ValidationError(
                {"invoice_external_id": ["Unknown claim."]}
            )
        try:
            plan, created = instalment_plan_record(
                creditor=creditor,
                invoice=invoice,
                external_id=values["external_id"],
                agreed_on=values["agreed_on"],
                instalments=[(i["due_on"], i["amount"]) for i in values["instalments"]],
                actor=self.actor,
            )
        except InstalmentPlanRefused as exc:
            raise drf_serializers.ValidationError(exc.errors) from None
        except InstalmentPlanConflict as exc:
            raise Conflict(str(exc)) from None
        plan = self.get_queryset().get(pk=plan.pk)
        return Response(
            self.get_serializer(plan).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class DeliveryEventViewSet(ClientScoped, viewsets.GenericViewSet):
    """Engagement and delivery statuses reported by the ERP's own systems."""

    serializer_class = s.DeliveryEventSerializer

    @extend_schema(
        summary="Report a delivery or engagement event of a message",
        description="For messages the ERP's own systems deliver or track "
        "(delivered, opened, clicked, bounced, complained ...). A hard bounce "
        "marks the address undeliverable and plans the message's claims on the "
        "next channel, as a provider's bounce does. The same event id again is "
        "answered 200 and changes nothing; the same id for another message or "
        "status is 409. A message of another creditor is 400, unknown.",
        request=s.DeliveryEventInputSerializer,
        responses=responses(
            {201: s.DeliveryEventSerializer, 200: s.DeliveryEventSerializer}, WRITE
        ),
        parameters=[IDEMPOTENCY],
    )
    @idempotent
    def create(self, request):
        data = s.DeliveryEventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            outcome = engagement_record(
                client_id=request.auth.pk,
                creditor_ids=self.creditor_ids,
                event_id=values["event_id"],
                message_id=values["message"],
                kind=values["kind"],
                bounce=values.get("bounce", ""),
                occurred_at=values["occurred_at"],
                reason=values.get("reason", ""),
            )
        except EventConflict as exc:
            raise Conflict(str(exc)) from None
        if outcome is None:
            raise drf_serializers.ValidationError({"message": ["Unknown message."]})
        event, created = outcome
        return Response(
            s.DeliveryEventSerializer(event).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Unknown API paths answer in JSON, like everything under /api/."""
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
