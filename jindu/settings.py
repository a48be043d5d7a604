"""Jindu settings.

Everything comes from the environment, with embedded defaults that are safe for one machine:
SQLite under ``var/``, Huey on SQLite, a secret key and field-encryption keys generated on first
start into ``var/`` (never committed). See docs/deploy.md for the production variables.
"""

import json
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("JINDU_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

TESTING = "pytest" in sys.modules or os.environ.get("JINDU_TESTING") == "1"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def _secret_from_file(name: str, factory) -> str:
    """Read a generated secret from var/, creating it (mode 600) on first use."""
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(factory())
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("JINDU_DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or _secret_from_file("secret_key", lambda: secrets.token_urlsafe(50))
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
JINDU_TRUST_X_FORWARDED_FOR = env_bool("JINDU_TRUST_X_FORWARDED_FOR", False)
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "huey.contrib.djhuey",
    # platform
    "utilities",
    "core",
    "geo",
    "orgs",
    "users",
    # pillars
    "casework",
    "monitoring",
    "precursors",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "users.middleware.IdleTimeoutMiddleware",
    "users.middleware.AccountGateMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "jindu.urls"
WSGI_APPLICATION = "jindu.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "jindu.navigation.navigation_context",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'jindu.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN so two
        # writers queue on the busy timeout instead of failing with "database is locked".
        # A 64 MB page cache (the default is 2 MB) keeps the event store's random-key indexes in memory while a
        # batch is inserted; the WAL is folded back into the database every 2,500 pages (40 MB; SQLite's default
        # is 1,000 pages), so a large capture does not also pay for a checkpoint at each commit. A new database
        # gets 16 KB pages (SQLite's default is 4 KB): a capture's commit writes every index page it touched to the
        # WAL, and with larger pages its random-key inserts touch fewer (12–17 % more events/s in the benchmark);
        # one-row transactions pay for it (an audited save takes ~1 ms instead of 0.65: docs/performance.md).
        # The page size of an existing database stays as it is (see docs/deploy.md to convert one).
        "init_command": f"PRAGMA page_size={env_int('SQLITE_PAGE_SIZE', 16_384)}; "
                        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                        f"PRAGMA cache_size=-{env_int('SQLITE_CACHE_MB', 64) * 1024}; "
                        f"PRAGMA wal_autocheckpoint={env_int('SQLITE_WAL_AUTOCHECKPOINT', 2_500)};",
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("SQLITE_BUSY_TIMEOUT_S", 20),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication and sessions ------------------------------------------------------------
AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # must come first: refuses locked-out credentials
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:  # Argon2 is deliberately slow; tests hash hundreds of passwords.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "users.password_validation.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
]
LOGIN_URL = "users:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "users:login"

# Lockout (等保 8.1.4.1b): web login and API token endpoint share django-axes' counter.
AXES_FAILURE_LIMIT = env_int("JINDU_LOCKOUT_FAILURES", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("JINDU_LOCKOUT_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "users.lockout.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False

JINDU_IDLE_TIMEOUT_SECONDS = env_int("JINDU_IDLE_TIMEOUT_MINUTES", 30) * 60
JINDU_PASSWORD_MAX_AGE_DAYS = env_int("JINDU_PASSWORD_MAX_AGE_DAYS", 90)
# Roles whose users must pass a TOTP second factor (等保 8.1.4.1d).
JINDU_OTP_REQUIRED_ROLES = [
    r for r in os.environ.get("JINDU_OTP_REQUIRED_ROLES", "system_admin,security_admin,audit_admin").split(",") if r
]
SESSION_COOKIE_AGE = env_int("JINDU_SESSION_MAX_HOURS", 12) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("JINDU_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
OTP_TOTP_ISSUER = "Jindu 禁毒"

# --- Field encryption (SM4-GCM + HMAC-SM3 blind index) -----------------------------------------
# JINDU_FIELD_KEYS="k1:HEX32,k2:HEX32" (the current key is JINDU_FIELD_KEY_ID, default the last),
# JINDU_INDEX_KEY=HEX; otherwise a key file (JINDU_KEY_FILE, default var/field-keys.json).
JINDU_FIELD_KEYS = os.environ.get("JINDU_FIELD_KEYS", "")
JINDU_FIELD_KEY_ID = os.environ.get("JINDU_FIELD_KEY_ID") or None
JINDU_INDEX_KEY = os.environ.get("JINDU_INDEX_KEY", "")
JINDU_KEY_FILE = Path(os.environ.get("JINDU_KEY_FILE", VAR_DIR / "field-keys.json"))

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files (all vendored; nothing from a CDN) ------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns at start-up when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

# --- Jobs -----------------------------------------------------------------------------------
HUEY = {
    "huey_class": "huey.SqliteHuey",
    "name": "jindu",
    "filename": str(VAR_DIR / "huey.sqlite3"),
    "immediate": TESTING or env_bool("JINDU_JOBS_IMMEDIATE", False),
    # periodic tasks (crontab) read Beijing time: the nightly runs at night, the morning mail in the morning
    "utc": False,
    "consumer": {"workers": env_int("JINDU_WORKERS", 2), "worker_type": "thread"},
}

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "users.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["users.permissions.RolePermission"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Jindu API",
    "DESCRIPTION": "Jindu (禁毒) platform API. Authenticate with `Authorization: Token <key>` "
    "obtained from POST /api/auth/token/.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5-responsive.html"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("JINDU_LOG_LEVEL", "WARNING" if TESTING else "INFO")},
    "loggers": {"huey": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# Demo data shares this password unless --password is given (printed by `make run`).
JINDU_DEMO_PASSWORD = os.environ.get("JINDU_DEMO_PASSWORD", "Jindu@2026demo")
JINDU_CITY_CODE = os.environ.get("JINDU_CITY_CODE", "320500")
JINDU_BREAK_GLASS_HOURS = env_int("JINDU_BREAK_GLASS_HOURS", 3)
# how risk levels are shown when the instrument in use has no "labels": zh (高/中/低), colour (红/黄/蓝), abc, en
JINDU_RISK_LABELS = os.environ.get("JINDU_RISK_LABELS", "colour")
JINDU_BASE_URL = os.environ.get("JINDU_BASE_URL", "http://127.0.0.1:8000")

# E-mail reminders: the intranet's SMTP relay when JINDU_EMAIL_HOST is set; otherwise each message is written as a
# file under var/mail (the embedded default, so nothing leaves the machine and an operator can read them).
if os.environ.get("JINDU_EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["JINDU_EMAIL_HOST"]
    EMAIL_PORT = env_int("JINDU_EMAIL_PORT", 25)
    EMAIL_HOST_USER = os.environ.get("JINDU_EMAIL_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("JINDU_EMAIL_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("JINDU_EMAIL_TLS", False)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = os.environ.get("JINDU_EMAIL_FROM", "jindu@localhost")

if os.environ.get("JINDU_EXTRA_SETTINGS"):  # a deployment may point at one JSON file of overrides
    globals().update(json.loads(Path(os.environ["JINDU_EXTRA_SETTINGS"]).read_text()))

# Lockout is per account: government offices sit behind a few NAT addresses, so locking by IP would
# lock out a whole bureau after one person's typos.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
