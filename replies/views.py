"""Inbound webhooks: one per provider format, each refusing a bad signature.

A refused signature gets 403 and stores nothing; a signed request that cannot
be read gets 400; a reply is answered 200 (201 the first time), so that a
provider's retry of a delivered message is a no-op.
"""

import logging
import time

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from replies import inbound
from replies.services import reply_receive

logger = logging.getLogger(__name__)


def _refuse(provider: str) -> HttpResponseForbidden:
    logger.warning("replies webhook %s: signature refused", provider)
    return HttpResponseForbidden("invalid signature")


def _stored(reply, created: bool) -> JsonResponse:
    return JsonResponse(
        {"reply": reply.pk, "created": created, "status": reply.status},
        status=201 if created else 200,
    )


@csrf_exempt
@require_POST
def generic(request):
    body = request.body
    signature = request.headers.get("X-Replies-Signature", "")
    if not inbound.generic_verified(settings.REPLIES_WEBHOOK_SECRET, body, signature):
        return _refuse("generic")
    try:
        reply, created = reply_receive(inbound=inbound.generic_inbound(body))
    except inbound.InboundError as error:
        return JsonResponse({"error": str(error)}, status=400)
    return _stored(reply, created)


@csrf_exempt
@require_POST
def mailgun(request):
    fields = request.POST
    max_age = settings.REPLIES_SIGNATURE_MAX_AGE
    key = settings.REPLIES_MAILGUN_SIGNING_KEY
    token = fields.get("token", "")
    if not inbound.mailgun_verified(key, fields, max_age=max_age, now=time.time()):
        return _refuse("mailgun")
    if inbound.mailgun_token_used(token):
        return _refuse("mailgun (token reused)")
    try:
        reply, created = reply_receive(inbound=inbound.mailgun_inbound(fields))
    except inbound.InboundError as error:
        # 406 tells Mailgun not to retry a message that can never be read.
        return JsonResponse({"error": str(error)}, status=406)
    inbound.mailgun_token_remember(token, max_age=max_age)
    return _stored(reply, created)


@csrf_exempt
@require_POST
def twilio(request):
    # Twilio signs the URL it was configured with: behind a proxy that is the
    # public address, SITE_URL, not the one this process sees.
    url = settings.SITE_URL + request.get_full_path()
    signature = request.headers.get("X-Twilio-Signature", "")
    token = settings.REPLIES_TWILIO_AUTH_TOKEN
    if not inbound.twilio_verified(token, url, request.POST, signature):
        return _refuse("twilio")
    try:
        reply_receive(inbound=inbound.twilio_inbound(request.POST))
    except inbound.InboundError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain")
    # An empty TwiML response: received, and no automatic answer to the debtor.
    return HttpResponse("<Response/>", content_type="text/xml")
