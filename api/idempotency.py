"""`Idempotency-Key` on writes: a retried request gets the first answer again.

The key is stored with a hash of the request and the response in the same
transaction as the write itself, so a key is either spent together with its
write or not at all. Only successful writes spend a key: a refused request
wrote nothing and may be corrected and sent again under the same key.
"""

import hashlib
import json
from datetime import timedelta
from functools import wraps

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from api.errors import Conflict, KeyReused
from api.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_LENGTH = 255
# How long a key is remembered; a client retries within minutes, not days.
KEEP = timedelta(hours=24)


def request_fingerprint(request) -> str:
    body = json.dumps(request.data, cls=JSONEncoder, sort_keys=True)
    text = f"{request.method} {request.get_full_path()} {body}"
    return hashlib.sha256(text.encode()).hexdigest()


def idempotent(handler):
    """Wrap a view's write method; requests without the header pass through."""

    @wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_LENGTH:
            raise ValidationError(
                {HEADER: [f"Send 1 to {MAX_LENGTH} characters, e.g. a UUID."]}
            )

        fingerprint = request_fingerprint(request)
        client = request.auth
        with transaction.atomic():
            stored = IdempotencyKey.objects.filter(client=client, key=key).first()
            if stored is not None and stored.created_at < timezone.now() - KEEP:
                stored.delete()
                stored = None
            if stored is not None:
                if stored.request_hash != fingerprint:
                    raise KeyReused()
                return Response(
                    stored.response,
                    status=stored.status_code,
                    headers={"Idempotent-Replayed": "true"},
                )

            response = handler(view, request, *args, **kwargs)
            if not 200 <= response.status_code < 300:
                return response
            body = json.loads(json.dumps(response.data, cls=JSONEncoder))
            try:
                with transaction.atomic():
                    IdempotencyKey.objects.create(
                        client=client,
                        key=key,
                        request_hash=fingerprint,
                        status_code=response.status_code,
                        response=body,
                    )
            except IntegrityError:
                # Another request with this key finished first; this one's
                # writes are rolled back with the outer transaction.
                raise Conflict(
                    "A request with this Idempotency-Key was processed at the "
                    "same time; send it again to get its response."
                ) from None
        return response

    return wrapper
