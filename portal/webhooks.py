"""Payment providers' webhooks: Stripe's checkout and charge events."""

import logging

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.providers import (
    ProviderError,
    StripeCheckoutProvider,
    provider_event_handle,
)
from portal.stripe_charges import CHARGE_EVENTS, StripeUnavailable, charge_event_handle

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe posts checkout and charge events here; the signature proves they
    are Stripe's.

    2xx tells Stripe to stop retrying: a duplicate event and an event for a
    session that is not ours are answered 200 as well. A bad signature is 400,
    so a misconfigured secret shows in Stripe's dashboard; 503 when Stripe did
    not answer the lookup a charge event needs, so that it is delivered again.
    """
    provider = StripeCheckoutProvider()
    try:
        event = provider.parse_event(request)
    except ProviderError as exc:
        logger.warning("stripe webhook refused: %s", exc)
        return HttpResponse(status=400)
    try:
        if event.type.startswith(CHARGE_EVENTS):
            handled = charge_event_handle(event=event)
        else:
            handled = provider_event_handle(provider=provider.code, event=event)
    except StripeUnavailable as exc:
        # Nothing was stored: Stripe delivers the event again later.
        logger.warning("stripe webhook: %s", exc)
        return HttpResponse(status=503)
    return HttpResponse("ok" if handled else "duplicate", content_type="text/plain")
