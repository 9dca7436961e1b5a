"""Settings for CryptoPredict: every knob comes from the environment (see .env.example)."""

from datetime import timedelta
from pathlib import Path

import environ

from cryptopredict.db_router import replica_databases

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Local overrides; ENV_FILE=/dev/null ignores the file (production sets the real environment).
environ.Env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")))

DEBUG = env.bool("DEBUG", default=False)
# A key is only invented for local development; production must set SECRET_KEY.
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key" if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "backoffice.apps.BackOfficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "rangefilter",
    "simple_history",
    "django_celery_beat",
    "cryptopredict",
    "users",
    "assets",
    "ai",
    "macro",
    "sectors",
    "selection",
    "trading",
    "alerts",
    "marketdata",
    "backoffice",  # the top too: the admin site, dashboard and charts read every app
    "demo",  # the top: it drives the services of every app above
]

MIDDLEWARE = [
    # First: a preflight is answered before anything looks at authentication.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cryptopredict.middleware.UserTimezoneMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cryptopredict.db_router.ReplicaRequestMiddleware",
    "cryptopredict.api.middleware.RateLimitHeadersMiddleware",
]

# Browser clients on other origins (e.g. a React app on http://localhost:3000) may call the API.
CORS_ALLOWED_ORIGINS = env.list(
    "CORS_ALLOWED_ORIGINS", default=["http://localhost:3000", "http://127.0.0.1:3000"] if DEBUG else []
)
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = env.bool("CORS_ALLOW_CREDENTIALS", default=True)
CORS_EXPOSE_HEADERS = ["Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]
CORS_PREFLIGHT_MAX_AGE = 3600

ROOT_URLCONF = "cryptopredict.urls"
WSGI_APPLICATION = "cryptopredict.wsgi.application"

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

# An empty DATABASE_URL counts as unset, like a missing one.
DATABASES = {
    "default": env.db_url_config(env("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if env("TEST_DATABASE_NAME", default=""):
    # Lets several test runs share one server without clobbering each other's database.
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME")}
# Read replicas (see cryptopredict/db_router.py): read-only requests read from them.
DATABASES.update(replica_databases(env("DATABASE_REPLICA_URLS", default=""), DATABASES["default"]))
DATABASE_ROUTERS = ["cryptopredict.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_USER_MODEL = "users.User"
# The service that appends to the audit trail (called by the API base and the admin, see cryptopredict.audit).
ACTIVITY_RECORDER = "users.services.audit.activity_record"
AUTHENTICATION_BACKENDS = ["users.backends.EmailBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
# Change history (django-simple-history): shown with old and new values, never reverted from
# the admin (a revert would bypass the services), kept HISTORY_RETENTION_DAYS (prune_history).
SIMPLE_HISTORY_REVERT_DISABLED = True
HISTORY_RETENTION_DAYS = env.int("HISTORY_RETENTION_DAYS", default=365)
# 24-hour times with their zone and ISO dates everywhere (cryptopredict/formats/en/formats.py).
FORMAT_MODULE_PATH = ["cryptopredict.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

# Django 6.1 mailers replace the deprecated EMAIL_BACKEND / EMAIL_HOST... settings. MAIL_BACKEND is
# a backend's dotted path (default: the console while DEBUG, else SMTP); MAIL_OPTIONS its keyword
# arguments as JSON, e.g. {"host": "smtp.example.com", "port": 587, "username": "...", "use_tls": true}.
MAILERS = {
    "default": {
        "BACKEND": env(
            "MAIL_BACKEND",
            default=f"django.core.mail.backends.{'console' if DEBUG else 'smtp'}.EmailBackend",
        ),
        "OPTIONS": env.json("MAIL_OPTIONS", default={}),
    }
}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="noreply@cryptopredict.local")

# Production hardening; `manage.py check --deploy` passes when DEBUG is off.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# REST API (the contract is docs/api.md; the framework is cryptopredict/api/).
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "cryptopredict.api.schema.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["cryptopredict.api.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so that an unauthenticated request gets 401 with `WWW-Authenticate: Bearer`.
        "users.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["users.throttling.PlanRateThrottle"],
    # Requests per minute: per user by subscription plan; per client IP on the auth endpoints;
    # logins (API and admin alike) per client IP and per account.
    "DEFAULT_THROTTLE_RATES": {
        "plan_free": env("THROTTLE_RATE_FREE", default="60/min"),
        "plan_basic": env("THROTTLE_RATE_BASIC", default="300/min"),
        "plan_pro": env("THROTTLE_RATE_PRO", default="1200/min"),
        "plan_enterprise": env("THROTTLE_RATE_ENTERPRISE", default="6000/min"),
        "auth_anon": env("THROTTLE_RATE_AUTH_ANON", default="20/min"),
        "login": env("THROTTLE_RATE_LOGIN", default="10/min"),
        "login_account": env("THROTTLE_RATE_LOGIN_ACCOUNT", default="10/min"),
    },
    # Client IP for throttling: REMOTE_ADDR unless behind that many proxies adding X-Forwarded-For.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "DEFAULT_PERMISSION_CLASSES": ["cryptopredict.api.permissions.IsReaderOrWriter"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "cryptopredict.api.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "cryptopredict.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "cryptopredict.api.exceptions.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # `?format=` belongs to the endpoints (e.g. candles' `format=compact`), not to renderer choice.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CryptoPredict API",
    "DESCRIPTION": "Market data, AI analyses and trading signals for crypto assets.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs are public; the endpoints they describe are not.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v[0-9]",
    "ENUM_NAME_OVERRIDES": {
        "TimeframeEnum": "cryptopredict.choices.Timeframe",
        "JobStatusEnum": "cryptopredict.choices.JobStatus",
        "MarketRegimeEnum": "macro.choices.MarketRegime",
        "RiskLevelEnum": "macro.choices.RiskLevel",
    },
}
ACCESS_TOKEN_LIFETIME = timedelta(seconds=env.int("ACCESS_TOKEN_LIFETIME_SECONDS", default=3600))
REFRESH_TOKEN_LIFETIME = timedelta(seconds=env.int("REFRESH_TOKEN_LIFETIME_SECONDS", default=30 * 86400))

# Celery: with no broker configured, tasks run eagerly in-process (the embedded default).
# The in-memory transport stands for "no broker": nothing is sent, and kombu looks for no server.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="") or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL.startswith("memory://")
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# `celery -A cryptopredict beat` runs these; history has a retention, like every growing table.
CELERY_BEAT_SCHEDULE = {
    "prune-history": {"task": "backoffice.history_prune", "schedule": timedelta(days=1)},
    # Writes refresh the aggregate views themselves; this catches up on rows written by SQL around
    # the services, cascades (a sector deleted) and a refresh lost with a broker that was down.
    "refresh-aggregates": {"task": "cryptopredict.refresh_aggregates", "schedule": timedelta(hours=1)},
    "prune-users": {"task": "users.prune", "schedule": timedelta(days=1)},
}
# Activity records, and API sessions after they ended, are deleted daily after these (prune_users).
USER_ACTIVITY_RETENTION_DAYS = env.int("USER_ACTIVITY_RETENTION_DAYS", default=365)
USER_SESSION_RETENTION_DAYS = env.int("USER_SESSION_RETENTION_DAYS", default=30)
# Seconds between a write and the refresh of the aggregate views it changed: the writes of that
# window share one refresh (cryptopredict.aggregates).
AGGREGATES_REFRESH_DELAY = env.int("AGGREGATES_REFRESH_DELAY", default=30)

# Alerts (the alerts app): plan limits, delivery retries, channel endpoints.
ALERT_RULE_LIMITS = {
    "free": env.int("ALERT_RULES_FREE", default=5),
    "basic": env.int("ALERT_RULES_BASIC", default=25),
    "pro": env.int("ALERT_RULES_PRO", default=100),
    "enterprise": env.int("ALERT_RULES_ENTERPRISE", default=1000),
}
# A failed delivery is tried again after base x 2^(n-1) seconds (capped), and is dead after the last attempt.
ALERT_DELIVERY_MAX_ATTEMPTS = env.int("ALERT_DELIVERY_MAX_ATTEMPTS", default=8)
ALERT_DELIVERY_BACKOFF_SECONDS = env.int("ALERT_DELIVERY_BACKOFF_SECONDS", default=30)
ALERT_DELIVERY_BACKOFF_MAX_SECONDS = env.int("ALERT_DELIVERY_BACKOFF_MAX_SECONDS", default=3600)
# How long a worker's claim on a delivery lasts; a claim of a worker that died is taken over after it.
ALERT_DELIVERY_LEASE_SECONDS = env.int("ALERT_DELIVERY_LEASE_SECONDS", default=120)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Webhooks go to public addresses only (no SSRF into the server's network); the tests' local
# receivers need loopback, which this allows (never in production).
WEBHOOK_ALLOW_LOOPBACK = env.bool("WEBHOOK_ALLOW_LOOPBACK", default=False)
TELEGRAM_API_URL = env("TELEGRAM_API_URL", default="https://api.telegram.org")
TELEGRAM_BOT_TOKEN = env("TELEGRAM_BOT_TOKEN", default="")
# Where users reach this site: the base of the links in mails (email channel confirmation).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# Firings (with their notifications and deliveries) older than this are deleted daily.
ALERT_RETENTION_DAYS = env.int("ALERT_RETENTION_DAYS", default=180)
CELERY_BEAT_SCHEDULE |= {
    "alerts-deliveries-dispatch": {"task": "alerts.deliveries_dispatch", "schedule": 60.0},
    "alerts-stale-check": {"task": "alerts.stale_check", "schedule": 300.0},
    "alerts-prune": {"task": "alerts.prune", "schedule": 86400.0},
}
# Queues: `ingest` (fetching market data), `ai` (model jobs), `default` (the rest of the chain), so
# that ingest and model workers scale out separately. A prefix lets environments share a broker.
CELERY_QUEUE_PREFIX = env("CELERY_QUEUE_PREFIX", default="")
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default=f"{CELERY_QUEUE_PREFIX}default")
CELERY_TASK_ROUTES = {
    "marketdata.sync_*": {"queue": f"{CELERY_QUEUE_PREFIX}ingest"},
    "marketdata.daily_maintenance": {"queue": f"{CELERY_QUEUE_PREFIX}ingest"},
    "marketdata.run_predictions": {"queue": f"{CELERY_QUEUE_PREFIX}ai"},
    "ai.*": {"queue": f"{CELERY_QUEUE_PREFIX}ai"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# Market data sources (marketdata/clients/): public defaults; tests point them at local servers.
BINANCE_API_URL = env("BINANCE_API_URL", default="https://api.binance.com")
BINANCE_DATA_URL = env("BINANCE_DATA_URL", default="https://data.binance.vision")
COINGECKO_API_URL = env("COINGECKO_API_URL", default="https://api.coingecko.com/api/v3")
COINGECKO_API_KEY = env("COINGECKO_API_KEY", default="")
FEAR_GREED_URL = env("FEAR_GREED_URL", default="https://api.alternative.me/fng/")
FRED_API_URL = env("FRED_API_URL", default="https://api.stlouisfed.org/fred")
FRED_API_KEY = env("FRED_API_KEY", default="")
COINGECKO_MARKET_PAGES = env.int("COINGECKO_MARKET_PAGES", default=1)  # 250 coins a page
COINGECKO_CAP_DAYS = env.int("COINGECKO_CAP_DAYS", default=30)  # daily market caps fetched per run
# ccxt exchange id -> REST base URL replacing the exchange's own host.
EXCHANGE_API_URLS = {"binance": BINANCE_API_URL}
BINANCE_WEIGHT_LIMIT = env.int("BINANCE_WEIGHT_LIMIT", default=6000)  # request weight per minute
SOURCE_TIMEOUT_SECONDS = env.float("SOURCE_TIMEOUT_SECONDS", default=10.0)
SOURCE_RETRIES = env.int("SOURCE_RETRIES", default=4)
SOURCE_BACKOFF_SECONDS = env.float("SOURCE_BACKOFF_SECONDS", default=1.0)
SOURCE_BACKOFF_MAX_SECONDS = env.float("SOURCE_BACKOFF_MAX_SECONDS", default=60.0)
SYNC_EXCHANGE = env("SYNC_EXCHANGE", default="binance")
SYNC_TIMEFRAMES = env.list("SYNC_TIMEFRAMES", default=["1h", "1d"])
SYNC_PAGE_LIMIT = env.int("SYNC_PAGE_LIMIT", default=1000)
SYNC_INITIAL_PERIODS = env.int("SYNC_INITIAL_PERIODS", default=1000)  # history of a first sync
SYNC_LOCK_TIMEOUT_SECONDS = env.int("SYNC_LOCK_TIMEOUT_SECONDS", default=3600)
BINANCE_DATA_CACHE_DIR = Path(env("BINANCE_DATA_CACHE_DIR", default=str(BASE_DIR / "var" / "binance-data")))
# The daily maintenance archives candles older than this many days (0: never; see archive_price_data).
ARCHIVE_AFTER_DAYS = env.int("ARCHIVE_AFTER_DAYS", default=0)
# /api/health/ reports "degraded" when a synced series lags more than this many of its periods.
HEALTH_STALE_PERIODS = env.int("HEALTH_STALE_PERIODS", default=3)

MODEL_ARTIFACTS_DIR = Path(env("MODEL_ARTIFACTS_DIR", default=str(BASE_DIR / "var" / "artifacts")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # Tasks run in-process without a broker: Celery's per-task INFO lines would clutter commands.
    "loggers": {"celery": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"}},
}
