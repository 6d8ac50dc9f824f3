"""Provider status webhooks: a bad signature gets 403 and stores nothing.

A report about an unknown message or an event not tracked here is answered 200
so the provider stops retrying it; a report delivered twice stores one event.
"""

import logging
import time

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from delivery import providers
from delivery.models import DeliveryEvent
from delivery.services import delivery_find, event_record
from replies import inbound

logger = logging.getLogger(__name__)


def _refuse(provider: str) -> HttpResponseForbidden:
    logger.warning("delivery webhook %s: signature refused", provider)
    return HttpResponseForbidden("invalid signature")


def _store(provider: str, status: providers.Status | None) -> dict:
    if status is None:
        return {"stored": False, "why": "event not tracked"}
    delivery = delivery_find(
        provider=provider, provider_message_id=status.provider_message_id
    )
    if delivery is None:
        logger.info("delivery webhook %s: unknown message", provider)
        return {"stored": False, "why": "unknown message"}
    event, created = event_record(
        message_id=delivery.message_id,
        kind=status.kind,
        bounce=status.bounce,
        provider=provider,
        provider_event_id=status.provider_event_id,
        occurred_at=status.occurred_at,
        detail=status.detail,
        actor=f"webhook:{provider}",
    )
    return {"stored": created, "event": event.pk, "kind": event.kind}


def _known_event(status: providers.Status | None) -> bool:
    return (
        status is not None
        and DeliveryEvent.objects.filter(
            provider="mailgun", provider_event_id=status.provider_event_id
        ).exists()
    )


@csrf_exempt
@require_POST
def mailgun(request):
    try:
        body = providers.mailgun_body(request.body)
    except providers.StatusError:
        return _refuse("mailgun")
    signature = body.get("signature")
    signature = signature if isinstance(signature, dict) else {}
    key = settings.DELIVERY_MAILGUN_SIGNING_KEY
    max_age = settings.DELIVERY_SIGNATURE_MAX_AGE
    if not inbound.mailgun_verified(key, signature, max_age=max_age, now=time.time()):
        return _refuse("mailgun")
    try:
        status = providers.mailgun_status(body)
    except providers.StatusError as error:
        # 406 tells Mailgun not to retry a report that can never be read.
        return JsonResponse({"error": str(error)}, status=406)

    # The signature covers timestamp and token only: a token seen before may
    # carry a forged body, unless it is the same event again (a retry).
    token = signature.get("token", "")
    if inbound.mailgun_token_used(token) and not _known_event(status):
        return _refuse("mailgun (token reused)")
    result = _store("mailgun", status)
    inbound.mailgun_token_remember(token, max_age=max_age)
    return JsonResponse(result, status=201 if result["stored"] else 200)


@csrf_exempt
@require_POST
def twilio(request):
    # Twilio signs the URL it was configured with: the public address.
    url = settings.SITE_URL + request.get_full_path()
    signature = request.headers.get("X-Twilio-Signature", "")
    token = settings.DELIVERY_TWILIO_AUTH_TOKEN
    if not inbound.twilio_verified(token, url, request.POST, signature):
        return _refuse("twilio")
    try:
        status = providers.twilio_status(request.POST)
    except providers.StatusError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain")
    result = _store("twilio", status)
    return JsonResponse(result, status=201 if result["stored"] else 200)
