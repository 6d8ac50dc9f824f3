"""Where the rate-limit counters live: CACHES from the environment.

The admin login throttle only holds across gunicorn workers when every worker
counts in the same place; the tests count failures in one process and read
them in another.
"""

import os
import socket
import subprocess
import sys
import uuid

import pytest
from django.core.cache.backends.db import DatabaseCache
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from config.caches import DATABASE, MEMORY, REDIS, caches_from_env, shared
from tests.conftest import REPO_DIR

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def redis_url(db: int = 15) -> str:
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"


def redis_answers() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1):
            return True
    except OSError:
        return False


def test_development_counts_in_memory_production_in_the_database():
    development = caches_from_env(cache_url=None, redis_url=None, debug=True)
    production = caches_from_env(cache_url=None, redis_url=None, debug=False)

    assert development["default"]["BACKEND"] == MEMORY
    assert not shared(development)
    assert production["default"]["BACKEND"] == DATABASE
    assert production["default"]["LOCATION"] == "django_cache"
    assert shared(production)


def test_the_broker_s_redis_is_the_cache_unless_cache_url_names_another():
    with_broker = caches_from_env(
        cache_url=None, redis_url="redis://queue:6379/0", debug=False
    )
    named = caches_from_env(
        cache_url="db://rate_limits", redis_url="redis://queue:6379/0", debug=False
    )

    assert with_broker["default"]["BACKEND"] == REDIS
    assert with_broker["default"]["LOCATION"] == "redis://queue:6379/0"
    assert named["default"]["BACKEND"] == DATABASE
    assert named["default"]["LOCATION"] == "rate_limits"


def test_an_unknown_scheme_is_refused_without_echoing_the_password():
    with pytest.raises(ImproperlyConfigured) as refused:
        caches_from_env(
            cache_url="memcached://user:s3cret@cache:11211",
            redis_url=None,
            debug=False,
        )

    assert "memcached" in str(refused.value)
    assert "s3cret" not in str(refused.value)


@pytest.mark.django_db(transaction=True)
def test_migrate_makes_the_database_cache_s_table_and_two_caches_share_counts(
    settings,
):
    settings.CACHES = caches_from_env(
        cache_url="db://test_rate_limits", redis_url=None, debug=False
    )
    table = "test_rate_limits"
    try:
        call_command("migrate", verbosity=0)
        assert table in connection.introspection.table_names()
        # Two cache objects, as two worker processes have.
        one = DatabaseCache(table, {"KEY_PREFIX": "dunning"})
        other = DatabaseCache(table, {"KEY_PREFIX": "dunning"})
        one.add("failures", 0, 60)
        for _ in range(3):
            one.incr("failures")

        assert other.get("failures") == 3
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


@pytest.mark.django_db(transaction=True)
def test_migrate_in_development_makes_the_production_cache_table_too():
    """Migrated with the memory cache, served later with DEBUG=false."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS django_cache")

    call_command("migrate", verbosity=0)

    assert "django_cache" in connection.introspection.table_names()


# Another worker's handler of a wrong password (ops.throttle.login_failed),
# five times; counting needs the cache only, not the database.
LOGIN_FAILURES = """
import django
django.setup()
from django.test import RequestFactory
from ops.throttle import login_failed
request = RequestFactory().post("/admin/login/", REMOTE_ADDR="198.51.100.7")
for _ in range(5):
    login_failed(None, {"username": "%(username)s"}, request=request)
"""


@pytest.mark.django_db
def test_failed_logins_in_one_process_lock_the_admin_in_another(client, settings):
    if not redis_answers():
        pytest.skip(f"no Redis at {REDIS_HOST}:{REDIS_PORT} to share the counts")
    import redis

    prefix = f"test-{uuid.uuid4().hex[:8]}"
    username = f"olga-{prefix}"
    settings.CACHES = caches_from_env(
        cache_url=redis_url(), redis_url=None, debug=True, key_prefix=prefix
    )
    env = dict(os.environ, CACHE_URL=redis_url(), CACHE_KEY_PREFIX=prefix)
    try:
        subprocess.run(
            [sys.executable, "-c", LOGIN_FAILURES % {"username": username}],
            cwd=REPO_DIR,
            env=env,
            check=True,
        )

        refused = client.post(
            "/admin/login/",
            {"username": username, "password": "wrong"},
            REMOTE_ADDR="203.0.113.50",
        )

        assert refused.status_code == 429
    finally:
        server = redis.Redis.from_url(redis_url())
        keys = list(server.scan_iter(f"{prefix}:*"))
        if keys:
            server.delete(*keys)
