"""Who may call the API: a client's bearer token, its scope and its rate.

A request carries `Authorization: Bearer <token>`. The client behind it is
`request.user` and `request.auth`; its creditors bound every query
(`api.views.ClientScoped`), its scope decides whether it may write, and its
own throttle rate limits it however many processes serve the API (as far as
the cache backend is shared between them).
"""

import time

from django.core.cache import cache
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.throttling import BaseThrottle

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


SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_parts(rate: str) -> tuple[int, int]:
    """`600/min` → (600, 60): requests and the seconds they are counted over."""
    count, period = rate.split("/")
    return int(count), SECONDS[period[0]]


class ClientRateThrottle(BaseThrottle):
    """Each client at its own rate (`ApiClient.throttle_rate`), counted in the
    cache so that every server process sees the same count.

    A sliding window over two fixed ones: the requests of the current window
    plus the previous window's in the share of it still inside the last
    `duration` seconds. Each request adds one with the cache's atomic `incr`
    first and is refused when the estimate is then over the rate, so requests
    arriving together cannot all read the same count and pass (DRF's own
    throttle reads, changes and writes back a list). A refused request takes
    its one back: only answered requests count. Redis (`CACHE_URL`) counts
    atomically across hosts; the database cache's `incr` is a read and a write.
    """

    def allow_request(self, request, view) -> bool:
        client = request.auth
        if not isinstance(client, ApiClient):
            return True
        limit, self.duration = rate_parts(client.throttle_rate)
        now = time.time()
        window, into = divmod(now, self.duration)
        current = f"api-throttle:{client.pk}:{int(window)}"
        previous = f"api-throttle:{client.pk}:{int(window) - 1}"
        cache.add(current, 0, timeout=2 * self.duration)
        count = cache.incr(current)
        earlier = cache.get(previous, 0)
        self.remaining = self.duration - into
        if earlier * (1 - into / self.duration) + count <= limit:
            return True
        cache.decr(current)
        return False

    def wait(self) -> float:
        return max(1.0, self.remaining)
