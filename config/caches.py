"""Django's cache from the environment: where the rate-limit counters live.

The admin login throttle (ops/throttle.py), the portal's failed-attempt limits
(portal/access.py), the API clients' throttle (api/access.py) and the replies
webhooks' replay guard count in the default cache. A cache each process keeps
for itself lets every gunicorn worker allow the whole limit again, so:

- `CACHE_URL` names the cache: `redis://host:6379/1` (or `rediss://`,
  `unix://`) for Redis, `db://` (optionally `db://<table>`) for a table in the
  database, `locmem://` for memory of one process;
- unset, `REDIS_URL` (django-q2's broker) is used for the cache too;
- without either, production (`DEBUG=false`) counts in the database table
  `django_cache` (`manage.py migrate` creates it, ops/apps.py), shared by every
  process and host on that database; development counts in memory, so the
  embedded set-up needs nothing but Python.
"""

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

REDIS = "django.core.cache.backends.redis.RedisCache"
DATABASE = "django.core.cache.backends.db.DatabaseCache"
MEMORY = "django.core.cache.backends.locmem.LocMemCache"
TABLE = "django_cache"
# Above this many keys the database and memory caches drop some (expired ones
# first). Django's default of 300 would let anyone who fills the cache with
# failed attempts from many addresses push a locked username's count out.
MAX_ENTRIES = 10_000
# A Redis that does not answer fails the request within seconds, not minutes.
REDIS_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 2}


def caches_from_env(
    *,
    cache_url: str | None,
    redis_url: str | None,
    debug: bool,
    key_prefix: str = "dunning",
) -> dict:
    """The CACHES setting for these environment values."""
    url = (cache_url or "").strip()
    if not url:
        if redis_url:
            url = redis_url
        else:
            url = "locmem://" if debug else "db://"
    scheme = urlsplit(url).scheme.lower()
    if scheme in {"redis", "rediss", "unix"}:
        default = {
            "BACKEND": REDIS,
            "LOCATION": url,
            "KEY_PREFIX": key_prefix,
            "OPTIONS": dict(REDIS_OPTIONS),
        }
    elif scheme == "db":
        table = urlsplit(url).netloc or urlsplit(url).path.strip("/") or TABLE
        default = {
            "BACKEND": DATABASE,
            "LOCATION": table,
            "KEY_PREFIX": key_prefix,
            "OPTIONS": {"MAX_ENTRIES": MAX_ENTRIES},
        }
    elif scheme == "locmem":
        default = {
            "BACKEND": MEMORY,
            "LOCATION": key_prefix,
            "KEY_PREFIX": key_prefix,
            "OPTIONS": {"MAX_ENTRIES": MAX_ENTRIES},
        }
    else:
        # The scheme only: the rest of a URL may hold a password.
        raise ImproperlyConfigured(
            f"CACHE_URL: unknown scheme {scheme!r}; use redis://host:port/db, "
            "rediss://…, unix://…, db:// or locmem://."
        )
    return {"default": default}


def shared(caches: dict) -> bool:
    """Whether every server process sees the same counts."""
    return caches["default"]["BACKEND"] in {REDIS, DATABASE}
