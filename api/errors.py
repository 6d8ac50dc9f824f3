"""One error shape for every API response that is not a success.

`{"detail": "...", "code": "..."}`, with `errors` (field → messages) for invalid
input and `items` (each refused item with its index) for a refused batch.
`responses()` documents the same shape in the OpenAPI schema, per status code.
"""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(APIException):
    """The request is valid but the object's state does not allow it."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object's state does not allow this."
    default_code = "conflict"


class KeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = (
        "This Idempotency-Key was used for a different request; use a new key."
    )
    default_code = "idempotency_key_reused"


class BatchRejected(APIException):
    """Some items of a batch are invalid; nothing of the batch was written."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_batch"

    def __init__(self, errors: dict[int, dict], items: list):
        self.items = [
            {
                "index": index,
                "external_id": _external_id(items, index),
                "errors": errors[index],
            }
            for index in sorted(errors)
        ]
        super().__init__(
            f"{len(errors)} of {len(items)} items are invalid; nothing was written."
        )


def _external_id(items: list, index: int) -> str | None:
    item = items[index] if 0 <= index < len(items) else None
    value = item.get("external_id") if isinstance(item, dict) else None
    return value if isinstance(value, str) else None


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, BatchRejected):
        response.data = {
            "detail": str(exc.detail),
            "code": exc.default_code,
            "items": exc.items,
        }
    elif isinstance(exc, ValidationError):
        errors = response.data
        if not isinstance(errors, dict):
            errors = {"non_field_errors": errors}
        response.data = {
            "detail": "Invalid input.",
            "code": "invalid",
            "errors": errors,
        }
    else:
        # DRF has turned Django's Http404 and PermissionDenied into its own
        # errors by now: their detail and code are in the response.
        detail = response.data.get("detail", "")
        code = getattr(detail, "code", None) or "error"
        response.data = {"detail": str(detail), "code": code}
    return response


class ItemErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in `items`")
    external_id = serializers.CharField(allow_null=True)
    errors = serializers.DictField(help_text="Field name → list of messages")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(
        required=False, help_text="Invalid input: field name → list of messages"
    )
    items = ItemErrorSerializer(
        many=True, required=False, help_text="A refused batch: each invalid item"
    )


DESCRIPTIONS = {
    400: "Invalid input; a batch lists each invalid item with its index and "
    "writes nothing.",
    401: "No token, an unknown token or a revoked one.",
    403: "The token may only read.",
    404: "No such object among the client's creditors (another creditor's "
    "objects are not found either), or an invalid cursor.",
    409: "The object's state does not allow the action, or a request with the "
    "same Idempotency-Key is being processed.",
    422: "The Idempotency-Key was used before for a different request.",
    429: "Too many requests for this client; retry after the Retry-After seconds.",
}

READ = (400, 401, 404, 429)
DETAIL = (401, 404, 429)
WRITE = (400, 401, 403, 404, 409, 422, 429)


def responses(ok: dict, codes=READ) -> dict:
    """The success responses plus the documented error responses."""
    errors = {
        code: OpenApiResponse(ErrorSerializer, description=DESCRIPTIONS[code])
        for code in codes
    }
    return {**ok, **errors}
