"""Settings for the dunning product; every deployment value comes from the environment.

One module serves development, tests and production. The defaults are the embedded
set-up (SQLite under var/, django-q2's ORM broker, file backends under var/outbox) so
that a new user needs nothing but Python.
"""

import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.caches import caches_from_env
from config.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_path,
    env_rate,
    env_required,
    env_str,
    env_timezone,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("VAR_DIR", BASE_DIR / "var")

DEBUG = env_bool("DEBUG", default=True)
if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY") or "insecure-development-key-never-in-production"
else:
    SECRET_KEY = env_required("SECRET_KEY")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# The address that personal links in messages point to.
SITE_URL = (env_str("SITE_URL") or "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # django.contrib.admin with the two-factor login of ADMIN_REQUIRE_2FA.
    "config.apps.DunningAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_fsm_log",
    "django_q",
    "customers",
    "payments",
    "dunning",
    "personalisation",
    "messaging",
    "portal",
    "rules",
    "contact",
    "experiments",
    # Before audit: its roles are synced once every app's permissions exist.
    "replies",
    "delivery",
    "reports",
    "simple_history",
    "audit",
    "api",
    "simulation",
    "ops",
    "privacy",
]

MIDDLEWARE = [
    # First, so that every log line of the request carries its id.
    "ops.middleware.request_id",
    "django.middleware.security.SecurityMiddleware",
    # Static files before sessions and the rest: no database, no cookies.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "ops.middleware.default_csp",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): signed in with a TOTP code (config/admin.py).
    "django_otp.middleware.OTPMiddleware",
    "ops.middleware.admin_login_throttle",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Names the user in the configuration history of admin changes.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Who opened which debtor's pages in the admin (GDPR accountability).
    "privacy.access.StaffAccessLogMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    # The embedded default: a SQLite file under var/, created on first use.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{VAR_DIR / 'dunning.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if env_str("TEST_DATABASE_NAME"):
    # Lets two test sessions share one PostgreSQL server without clashing.
    DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a worker writes; the timeout makes a
    # second writer wait for the lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
# The zone of the operators; creditors and debtors carry their own.
TIME_ZONE = env_timezone("TIME_ZONE", "Europe/Berlin")

STATIC_URL = "static/"
STATIC_ROOT = env_path("STATIC_ROOT", VAR_DIR / "static")
# WhiteNoise serves the static files in every process, with or without a web
# server in front: after `collectstatic` from STATIC_ROOT (compressed copies,
# content-hashed names with STATIC_MANIFEST=true), without it from the apps'
# own folders, so a deployment that skipped collectstatic still has its CSS.
WHITENOISE_USE_FINDERS = True
# Without collectstatic STATIC_ROOT does not exist: the finders serve, so
# WhiteNoise's warning about it at every start says nothing wrong.
warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", default=False)
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}

# Outbox for the file backends: e-mails, SMS and letters land here in development.
OUTBOX_DIR = env_path("OUTBOX_DIR", VAR_DIR / "outbox")
EMAIL_BACKEND = (
    env_str("EMAIL_BACKEND") or "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = OUTBOX_DIR / "email"
EMAIL_HOST = env_str("EMAIL_HOST") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "receivables@localhost"
SMS_BACKEND = env_str("SMS_BACKEND") or "messaging.backends.sms.FileSMSBackend"
WHATSAPP_BACKEND = (
    env_str("WHATSAPP_BACKEND") or "messaging.backends.sms.FileWhatsAppBackend"
)
SMS_FILE_PATH = OUTBOX_DIR / "sms"
# The Twilio-compatible Messages API of messaging.backends.sms.TwilioSMSBackend
# and TwilioWhatsAppBackend; the auth token is the one the replies webhook
# checks signatures with. The status callback is optional.
TWILIO_BASE_URL = (env_str("TWILIO_BASE_URL") or "https://api.twilio.com").rstrip("/")
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID") or ""
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN") or ""
TWILIO_SMS_FROM = env_str("TWILIO_SMS_FROM") or ""
TWILIO_WHATSAPP_FROM = env_str("TWILIO_WHATSAPP_FROM") or ""
TWILIO_STATUS_CALLBACK_URL = env_str("TWILIO_STATUS_CALLBACK_URL") or ""
TWILIO_TIMEOUT_SECONDS = env_int("TWILIO_TIMEOUT_SECONDS", 10, minimum=1)
# Dispatch: messages per batch (one set of channel connections each), and
# retries of a transient failure (provider 5xx, timeout, SMTP 4xx) after
# base, base × 3, base × 9 … seconds until the attempts are used up.
DISPATCH_BATCH_SIZE = env_int("DISPATCH_BATCH_SIZE", 200, minimum=1)
# The scheduled dispatch and this many tasks in all send a backlog of more
# than one batch side by side, one django-q2 worker each (each message is
# claimed by one of them). For PostgreSQL: SQLite lets one writer at a time.
DISPATCH_WORKERS = env_int("DISPATCH_WORKERS", 1, minimum=1)
DISPATCH_MAX_ATTEMPTS = env_int("DISPATCH_MAX_ATTEMPTS", 5, minimum=1)
DISPATCH_RETRY_BASE_SECONDS = env_int("DISPATCH_RETRY_BASE_SECONDS", 300, minimum=1)
DISPATCH_RETRY_FACTOR = env_int("DISPATCH_RETRY_FACTOR", 3, minimum=1)
# A message still `sending` this long after its worker claimed it lost that
# worker; the dispatch job marks it failed (messaging.services).
DISPATCH_STUCK_SECONDS = env_int("DISPATCH_STUCK_SECONDS", 3600, minimum=60)
LETTER_FILE_PATH = OUTBOX_DIR / "letters"
# Uploaded files (the creditors' invoice documents): personal data, so never
# served by URL; the admin and the e-mail attachments read them from disk.
MEDIA_ROOT = env_path("MEDIA_ROOT", VAR_DIR / "media")
# The attachments of one e-mail together at most this many KiB; base64 adds a
# third, so 7 MiB stays under the 10 MB many receiving servers accept.
EMAIL_ATTACHMENTS_MAX_KB = env_int("EMAIL_ATTACHMENTS_MAX_KB", 7 * 1024)
# Shared secret of the inbound SMS webhook (contact/sms/inbound/): HMAC-SHA256
# of the request body; without it the webhook refuses every request.
CONTACT_SMS_WEBHOOK_SECRET = env_str("CONTACT_SMS_WEBHOOK_SECRET") or ""

# Replies from debtors (replies app, docs/REPLIES.md): the intent model, the
# confidence from which a proposal is one click (percent), the pause while a
# payment is verified, and the inbound secrets; an unset secret refuses every
# request to its webhook.
REPLIES_MODEL_PATH = env_path(
    "REPLIES_MODEL_PATH", VAR_DIR / "models" / "reply_intent.joblib"
)
REPLIES_CONFIDENCE_THRESHOLD = env_int("REPLIES_CONFIDENCE_PERCENT", 60) / 100
# Learned models of personalisation (docs/MODELS.md): where the registry's
# joblib files live.
PERSONALISATION_MODEL_DIR = env_path("PERSONALISATION_MODEL_DIR", VAR_DIR / "models")
# OpenMP threads of the tree models. Their idle threads spin: on a machine
# whose cores other processes keep busy, 2 threads fitted 300 times slower
# than 1 (docs/MODELS.md), so 1 unless the cores are the model's own.
PERSONALISATION_THREADS = env_int("PERSONALISATION_THREADS", 1)
REPLIES_PAUSE_DAYS = env_int("REPLIES_PAUSE_DAYS", 14)
REPLIES_WEBHOOK_SECRET = env_str("REPLIES_WEBHOOK_SECRET") or ""
REPLIES_MAILGUN_SIGNING_KEY = env_str("MAILGUN_WEBHOOK_SIGNING_KEY") or ""
REPLIES_TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN") or ""
REPLIES_SIGNATURE_MAX_AGE = env_int("REPLIES_SIGNATURE_MAX_AGE", 900)
REPLIES_IMAP_HOST = env_str("REPLIES_IMAP_HOST") or ""
REPLIES_IMAP_PORT = env_int("REPLIES_IMAP_PORT", 993)
REPLIES_IMAP_USER = env_str("REPLIES_IMAP_USER") or ""
REPLIES_IMAP_PASSWORD = env_str("REPLIES_IMAP_PASSWORD") or ""
REPLIES_IMAP_FOLDER = env_str("REPLIES_IMAP_FOLDER") or "INBOX"
REPLIES_IMAP_SSL = env_bool("REPLIES_IMAP_SSL", default=True)

# Delivery tracking (delivery app, docs/DELIVERY.md): the providers' status
# webhooks use the same account secrets as the inbound replies; an unset secret
# refuses every request. The failure-rate alert compares the last window with
# the days before it.
DELIVERY_MAILGUN_SIGNING_KEY = env_str("MAILGUN_WEBHOOK_SIGNING_KEY") or ""
DELIVERY_TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN") or ""
DELIVERY_SIGNATURE_MAX_AGE = env_int("DELIVERY_SIGNATURE_MAX_AGE", 900)
# The generic signed payments webhook (/webhooks/payments/); unset refuses all.
PAYMENTS_WEBHOOK_SECRET = env_str("PAYMENTS_WEBHOOK_SECRET") or ""
DELIVERY_EMAIL_PROVIDER = env_str("DELIVERY_EMAIL_PROVIDER") or "mailgun"
DELIVERY_SMS_PROVIDER = env_str("DELIVERY_SMS_PROVIDER") or "twilio"
DELIVERY_ALERT_WINDOW_HOURS = env_int("DELIVERY_ALERT_WINDOW_HOURS", 24)
DELIVERY_ALERT_BASELINE_DAYS = env_int("DELIVERY_ALERT_BASELINE_DAYS", 7)
DELIVERY_ALERT_MIN_MESSAGES = env_int("DELIVERY_ALERT_MIN_MESSAGES", 20)
DELIVERY_ALERT_FACTOR = env_int("DELIVERY_ALERT_FACTOR", 3)
DELIVERY_ALERT_MIN_RATE = env_int("DELIVERY_ALERT_MIN_RATE_PERCENT", 10) / 100

# How long a personal payment link stays valid.
PORTAL_LINK_DAYS = env_int("PORTAL_LINK_DAYS", 60)
# The payment provider of the debtor page; the built-in test provider only
# where nobody can mistake it for real money.
PORTAL_PAYMENT_PROVIDER = env_str("PORTAL_PAYMENT_PROVIDER") or (
    "test" if DEBUG else ""
)
# Failed attempts at a token, short code or second factor (portal/access.py),
# as django-ratelimit rates: per IP address, and per link or typed code.
PORTAL_RATE_PER_IP = env_rate("PORTAL_RATE_PER_IP", "30/h")
PORTAL_RATE_PER_LINK = env_rate("PORTAL_RATE_PER_LINK", "5/h")
# Stripe Checkout (PORTAL_PAYMENT_PROVIDER=stripe); the keys come from the
# environment only. The checkout origin is allowed as the pay form's target.
STRIPE_API_BASE = (env_str("STRIPE_API_BASE") or "https://api.stripe.com").rstrip("/")
STRIPE_CHECKOUT_ORIGIN = env_str("STRIPE_CHECKOUT_ORIGIN") or (
    "https://checkout.stripe.com"
)
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY") or ""
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET") or ""
STRIPE_TIMEOUT_SECONDS = env_int("STRIPE_TIMEOUT_SECONDS", 10, minimum=1)
# "I have already paid" on the debtor page pauses dunning this many days while
# a clerk looks for the money.
PORTAL_ALREADY_PAID_DAYS = env_int("PORTAL_ALREADY_PAID_DAYS", 7)

Q_CLUSTER = {
    "name": "dunning",
    "workers": env_int("Q_WORKERS", 2),
    "timeout": env_int("Q_TIMEOUT", 1800),
    # retry must exceed timeout, or a slow task is started a second time.
    "retry": env_int("Q_RETRY", 2100),
    "max_attempts": 1,
    # A cluster that was down runs a missed schedule once, not once per missed slot.
    "catch_up": False,
    "save_limit": 1000,
    "label": "Jobs",
}
# The daily run split over this many partitions, one django-q2 task each.
DUNNING_WORKERS = env_int("DUNNING_WORKERS", 1)
DUNNING_PARTITION_TIMEOUT = env_int("DUNNING_PARTITION_TIMEOUT", 3600)
# A run not finished this long after its start was killed (its process died):
# /healthz reports it and the admin shows it as unfinished.
DUNNING_RUN_MAX_HOURS = env_int("DUNNING_RUN_MAX_HOURS", 4, minimum=1)
if DUNNING_RUN_MAX_HOURS * 3600 <= DUNNING_PARTITION_TIMEOUT:
    raise ImproperlyConfigured(
        f"DUNNING_RUN_MAX_HOURS={DUNNING_RUN_MAX_HOURS} must exceed "
        f"DUNNING_PARTITION_TIMEOUT={DUNNING_PARTITION_TIMEOUT} s: a run waits "
        "that long for its partitions."
    )
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
# Rate-limit counters (admin login, portal, API clients) live in the cache:
# CACHE_URL, else REDIS_URL, else the database in production and memory in
# development (config/caches.py, docs/OPERATIONS.md).
CACHES = caches_from_env(
    cache_url=env_str("CACHE_URL"),
    redis_url=REDIS_URL,
    debug=DEBUG,
    key_prefix=env_str("CACHE_KEY_PREFIX") or "dunning",
)

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The ERP API's OpenAPI document; the documentation page loads its scripts
# from the sidecar package's static files, never from a CDN.
SPECTACULAR_SETTINGS = {
    "TITLE": "Dunning API",
    "VERSION": "1.0.0",
    "DESCRIPTION": "Customers, claims, payments and cases for ERPs; see docs/API.md.",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "customers.models.Channel",
        "InvoiceStatusEnum": "payments.models.Invoice.Status",
        "CreditNoteStatusEnum": "payments.models.CreditNote.Status",
        "InstalmentPlanStatusEnum": "payments.models.InstalmentPlan.Status",
        "MessageStatusEnum": "messaging.models.Message.Status",
        "CaseStateEnum": "dunning.models.Case.State",
        "CustomerKindEnum": "customers.models.Customer.Kind",
        "DeliveryEventKindEnum": "delivery.models.DeliveryEvent.Kind",
    },
}

# "text" for people at a terminal, "json" for a log collector.
LOG_FORMAT = env_choice("LOG_FORMAT", "text", {"text", "json"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        # One JSON object per line for a log collector (ops/logs.py).
        "json": {"()": "ops.logs.json_formatter"},
    },
    "filters": {
        # Personal links carry a token in the path; it never reaches a log.
        "redact_tokens": {"()": "portal.log_filters.RedactPortalTokens"},
        "mask_personal_data": {"()": "ops.logs.MaskPersonalData"},
        "request_id": {"()": "ops.logs.RequestId"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["redact_tokens", "mask_personal_data", "request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "WARNING"},
    "loggers": {
        # Django's own handlers for its loggers (a console one in development,
        # mail to ADMINS) would write request paths, tokens included, past the
        # filters above: its records go to our console only.
        "django": {
            "handlers": ["console"],
            "level": env_str("LOG_LEVEL") or "WARNING",
            "propagate": False,
        },
        "django_q": {"level": "WARNING"},
        # runserver's access log, which would otherwise print tokens.
        "django.server": {
            "handlers": ["console"],
            "level": "INFO",
            "propagate": False,
        },
    },
}

# /healthz (ops app): a run older than this, or more tasks queued, is
# "degraded"; the token lets a monitor read the details without a login.
HEALTH_RUN_MAX_AGE_HOURS = env_int("HEALTH_RUN_MAX_AGE_HOURS", 26, minimum=1)
HEALTH_QUEUE_MAX = env_int("HEALTH_QUEUE_MAX", 1000, minimum=1)
HEALTH_TOKEN = env_str("HEALTH_TOKEN") or ""
# Set by the build (e.g. `git describe`); else read from the checkout.
APP_VERSION = env_str("APP_VERSION") or ""

# Failed admin logins per IP address and per username (ops/throttle.py); the
# next attempt after that many in the window is refused, right password or not.
ADMIN_LOGIN_RATE = env_rate("ADMIN_LOGIN_RATE", "5/m")
# Staff sign in to the admin with a TOTP code as well (config/admin.py).
ADMIN_REQUIRE_2FA = env_bool("ADMIN_REQUIRE_2FA", default=False)
# The header holding the client's address behind a proxy (e.g. HTTP_X_REAL_IP)
# for the admin and portal rate limits; unset: REMOTE_ADDR.
RATELIMIT_IP_META_KEY = env_str("RATELIMIT_IP_META_KEY") or None

# Headers of every response; the debtor and contact pages set a stricter CSP
# and Referrer-Policy of their own (ops.middleware.default_csp for the rest).
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    # A load balancer probes over plain HTTP inside its network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
    if env_bool("SECURE_PROXY_SSL", default=True):
        # Trust X-Forwarded-Proto only from a proxy that sets it and drops the
        # client's own; without such a proxy set SECURE_PROXY_SSL=false.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
