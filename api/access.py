"""Who may call the API: a client's bearer token, its scope and its rate.

A request carries `Authorization: Bearer <token>`. The client behind it is
`request.user` and `request.auth`; its creditors bound every query
(`api.views.ClientScoped`), its scope decides whether it may write, and its
own throttle rate limits it however many processes serve the API (as far as
the cache backend is shared between them).
"""

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.throttling import SimpleRateThrottle

from api.models import ApiClient, token_hash

KEYWORD = b"bearer"


class ClientTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != KEYWORD:
            return None
        if len(words) != 2:
            raise AuthenticationFailed("Send the header as 'Bearer <token>'.")
        try:
            token = words[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Invalid token.") from None
        client = ApiClient.objects.filter(token_hash=token_hash(token)).first()
        if client is None:
            raise AuthenticationFailed("Invalid token.")
        if client.is_revoked:
            raise AuthenticationFailed("This token was revoked.")
        return client, client

    def authenticate_header(self, request) -> str:
        # Makes a missing or bad token a 401 (with this challenge), not a 403.
        return 'Bearer realm="api"'


class ClientScope(BasePermission):
    """Reads for every client, writes only for clients with the write scope."""

    message = "This token may only read."

    def has_permission(self, request, view) -> bool:
        client = request.auth
        if not isinstance(client, ApiClient):
            return False
        return request.method in SAFE_METHODS or client.can_write


class ClientRateThrottle(SimpleRateThrottle):
    """Each client at its own rate (`ApiClient.throttle_rate`)."""

    scope = "api_client"

    def __init__(self):
        # The rate is the client's, known only once the request is authenticated.
        pass

    def allow_request(self, request, view) -> bool:
        client = request.auth
        if not isinstance(client, ApiClient):
            return True
        self.rate = client.throttle_rate
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
