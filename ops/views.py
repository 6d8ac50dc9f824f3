import hmac

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from ops import health


@never_cache
def healthz(request):
    """No login: load balancers and monitors call it. `?verbose` adds the
    details for staff or for a bearer of HEALTH_TOKEN."""
    answer = health.report(verbose="verbose" in request.GET and _trusted(request))
    status = 503 if answer["status"] == health.FAILED else 200
    return JsonResponse(answer, status=status)


def _trusted(request) -> bool:
    token = settings.HEALTH_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if token and hmac.compare_digest(given.encode(), token.encode()):
        return True
    try:
        return request.user.is_active and request.user.is_staff
    except Exception:
        # The session lives in the database, which may be what is down.
        return False
