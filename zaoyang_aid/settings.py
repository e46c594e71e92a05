"""Settings for 资助帮扶, read from the environment (12-factor).

Production differs from the quick start only by environment variables; README.md lists them.
A bad value fails at start with a message that names the variable.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ZAOYANG_VAR_DIR", BASE_DIR / "var"))

env = environ.Env()
# A local .env (never committed) may hold the developer's variables; real environment wins. The quick
# start (scripts/start.py) writes one, so that every `manage.py` command runs as the site does.
# ZAOYANG_ENV_FILE names another file (the test run points it at nothing).
ENV_FILE = Path(os.environ.get("ZAOYANG_ENV_FILE") or BASE_DIR / ".env")
environ.Env.read_env(ENV_FILE, overwrite=False)

# The development key is public (it is in git): it may only ever sign a DEBUG session.
DEV_SECRET_KEY = "django-insecure-zaoyang-aid-development-key-do-not-use-in-production"  # noqa: S105


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def _str(name: str, default: str) -> str:
    """The variable as written. Not ``env.str``: django-environ reads a value starting with ``$`` as the
    name of another variable, so a random SECRET_KEY or a password beginning with ``$`` would silently
    become the default."""
    raw = os.environ.get(name)
    return default if raw is None else raw


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}") from None


DEBUG = _bool("DEBUG", default=False)
# A machine for trying the app (the quick start, a demo server): `manage.py seed_demo` may load demo
# data there with DEBUG off. Never on a production database.
DEMO_SITE = _bool("DEMO_SITE", default=DEBUG)
SECRET_KEY = _str("SECRET_KEY", default=DEV_SECRET_KEY)
if not DEBUG and (SECRET_KEY == DEV_SECRET_KEY or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured(
        "DEBUG is off but SECRET_KEY is the development key. Set SECRET_KEY to a long random "
        "value (python -c 'import secrets; print(secrets.token_urlsafe(50))') or DEBUG=1 for local work."
    )
if not DEBUG and len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "zaoyang_aid.apps.AxesConfig",  # django-axes, its admin in Chinese
    "csp",  # django-csp: its system checks; the policy is CONTENT_SECURITY_POLICY below
    # Ours, from the ground floor up: an app only imports the ones listed before it.
    "zaoyang_aid",
    "pairing",
    "guidance",
    "casefiles",
    "campaigns",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise: static files keep their long cache and carry no page headers. Everything Django
    # renders gets the Content-Security-Policy (with the nonce the page used), the Permissions-Policy
    # and "no-store" (zaoyang_aid/headers.py).
    "csp.middleware.CSPMiddleware",
    "zaoyang_aid.headers.PrivatePagesMiddleware",
    # A NUL byte or a number beyond 64 bits in any parameter: 400 before a view or the database sees it.
    "zaoyang_aid.input.RefuseImpossibleInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every URL needs a login unless its view is marked login_not_required (login, /healthz).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # An idle hour logs out (with a message); the session is saved at most once a minute, not per view.
    "zaoyang_aid.sessions.IdleTimeoutMiddleware",
    # A whole 身份证号 or 学籍号 in a query string: sent back to the same page without it.
    "zaoyang_aid.input.KeepIdNumbersOutOfUrlsMiddleware",
    # A password someone else chose (a reset) must be changed before anything else is opened.
    "zaoyang_aid.passwords.PasswordChangeRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Who is acting and from where, for the audit log written by signals and services.
    "zaoyang_aid.audit.AuditContextMiddleware",
    # django-axes last, as its documentation asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "zaoyang_aid.urls"
WSGI_APPLICATION = "zaoyang_aid.wsgi.application"

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
                "zaoyang_aid.context_processors.site",
                "guidance.context_processors.notifications",
            ],
        },
    },
]

# --- Database: SQLite for the quick start, PostgreSQL in production and CI ---------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Persistent connections: each web worker keeps its connection up to CONN_MAX_AGE seconds instead of
# opening one per request (0 = one per request, Django's default). A teacher page took 52 ms with a new
# PostgreSQL connection and 33 ms with a kept one (issue 12). The health check pings a kept connection
# before a request reuses it, so a restarted database costs a reconnect, not a failed page. Every
# gunicorn worker (or thread) holds one connection: PostgreSQL's max_connections must cover them all
# plus the Celery workers, which close theirs around every task anyway (Celery's Django fixup), so the
# setting changes nothing there. On the quick start's SQLite a kept connection is a kept file handle.
_CONN_MAX_AGE = _int("CONN_MAX_AGE", default=60)
if _CONN_MAX_AGE < 0:
    raise ImproperlyConfigured(f"CONN_MAX_AGE must be 0 or more seconds; got {_CONN_MAX_AGE}")
DATABASES["default"].setdefault("CONN_MAX_AGE", _CONN_MAX_AGE)
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", _bool("CONN_HEALTH_CHECKS", default=True))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker and beat share the file without "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # JIT compilation costs more than it saves on a web app's short queries: it tripled the compliance
    # engine's talk aggregate at county scale (bench/compliance.py, 900 ms with it, 350 ms without).
    # random_page_cost 1.1 instead of PostgreSQL's 4 (a spinning disk's): a county's database (some
    # hundreds of MB) stays in memory on an SSD server, where an index probe costs about what a
    # sequential page does. With 4 the planner scanned all 12,600 pairings for one school's and the
    # term's 12,000 tallies for one school's 100 (the county page's recount after a talk: 13.3 ms of
    # PostgreSQL time, 3.9 ms with 1.1); the whole-county engine and the long lists kept their plans.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off -c random_page_cost=1.1")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis / Celery: Redis in production and CI, kombu's filesystem broker for the quick start --
REDIS_URL = _str("REDIS_URL", default="")
CELERY_FS_BROKER_DIR = VAR_DIR / "celery-broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "visibility_timeout": 3600,
        # A broker host that drops packets must not hang /healthz or a web request that queues a job.
        "socket_connect_timeout": 3,
    }
    CACHES: dict[str, dict[str, object]] = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FS_BROKER_DIR),
        "data_folder_out": str(CELERY_FS_BROKER_DIR),
        "processed_folder": str(VAR_DIR / "celery-processed"),
        # Broadcast (pidbox) exchanges; kombu's default is ./control in the working directory.
        "control_folder": str(VAR_DIR / "celery-control"),
        "store_processed": False,
    }
    # Shared by runserver, the worker and manage.py commands (a per-process cache would keep a
    # dashboard's figures after another process's write: guidance.figures).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }
    # kombu names these folders but never creates them: a worker on a fresh checkout would crash.
    for _folder in (CELERY_FS_BROKER_DIR, VAR_DIR / "celery-processed", VAR_DIR / "celery-control"):
        _folder.mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True  # nothing reads task results: don't store them
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")


def _clock(name: str, default: str) -> tuple[int, int]:
    raw = os.environ.get(name) or default
    try:
        hour, minute = (int(part) for part in raw.split(":"))
        dt.time(hour, minute)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a time of day as HH:MM; got {raw!r}") from None
    return hour, minute


# Beat runs once, beside one worker. The reminder sweep runs every morning (REMINDER_SWEEP_AT, default
# 07:00 Asia/Shanghai) and acts only on the first school day of a school week (so a week that starts
# on Tuesday after a holiday is swept on Tuesday); running it again the same day adds nothing.
_SWEEP_HOUR, _SWEEP_MINUTE = _clock("REMINDER_SWEEP_AT", "07:00")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "reminder-sweep": {
        "task": "guidance.sweep_reminders",
        "schedule": crontab(hour=_SWEEP_HOUR, minute=_SWEEP_MINUTE),
    },
    # Email/webhook digests of the in-app notifications: at most one per person, channel and day.
    "reminder-deliveries": {"task": "guidance.deliver_reminders", "schedule": crontab(minute="*/10")},
    # Home-visit photo files that a crash left without their record (guidance/photos.py).
    "orphan-photos": {"task": "guidance.delete_orphan_photos", "schedule": crontab(hour=3, minute=30)},
    # The per-pairing term tallies recounted from the talk records, differences repaired and logged.
    "verify-tallies": {"task": "guidance.verify_tallies", "schedule": crontab(hour=3, minute=45)},
    # Zips of a school's case files (casefiles/exports.py) are kept 7 days.
    "old-case-file-exports": {"task": "casefiles.delete_old_case_file_exports", "schedule": crontab(hour=4, minute=0)},
    "orphan-attachments": {"task": "casefiles.delete_orphan_attachments", "schedule": crontab(hour=3, minute=40)},
    # Large Excel reports written in the background (casefiles/report_exports.py): kept REPORT_EXPORT_KEEP_HOURS.
    "old-report-exports": {"task": "casefiles.delete_old_report_exports", "schedule": crontab(hour=4, minute=10)},
    # Uploaded rosters not committed (casefiles/import_services.py): kept ROSTER_IMPORT_KEEP_HOURS.
    "old-roster-imports": {"task": "casefiles.delete_old_roster_imports", "schedule": crontab(hour=4, minute=20)},
    # Record quality: suspect talk records flagged for the officers' review queue (guidance/quality.py).
    "quality-flags": {"task": "guidance.detect_flags", "schedule": crontab(hour=2, minute=30)},
    # 劝返 cases whose next step is overdue remind their officer (casefiles/recovery.py); once per due date.
    "recovery-overdue": {"task": "casefiles.notify_overdue_recovery", "schedule": crontab(hour=7, minute=30)},
    # 预警: every student's dropping-out signs against the county's thresholds (casefiles/early_warning.py).
    "early-warning": {"task": "casefiles.refresh_warnings", "schedule": crontab(hour=2, minute=50)},
    # Overdue 转介 (casefiles/referrals.py): a notice to the school's officer, before the morning digest.
    "overdue-referrals": {"task": "casefiles.notify_overdue_referrals", "schedule": crontab(hour=6, minute=40)},
    # Sessions past their store expiry (zaoyang_aid/sessions.py): `manage.py clearsessions`, nightly.
    "clear-sessions": {"task": "zaoyang_aid.clear_expired_sessions", "schedule": crontab(hour=4, minute=30)},
}
CELERY_TASK_ALWAYS_EAGER = _bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Auth --------------------------------------------------------------------------------------
AUTH_USER_MODEL = "zaoyang_aid.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading the user's staff row in the same query (zaoyang_aid/backends.py).
    # Sessions made under django.contrib.auth.backends.ModelBackend sign in again once.
    "zaoyang_aid.backends.StaffModelBackend",
]
# Argon2id at OWASP's m=19 MiB, t=2, p=1 (zaoyang_aid/hashers.py; bench/passwords.py measures it against
# Django's default 100 MiB, t=2, p=8). It verifies hashes made with Django's defaults, which carry their
# parameters, and rehashes them at the next login; Django's own Argon2 hasher is not listed after it,
# since under the same algorithm name it would only shadow ours when a hash is identified.
PASSWORD_HASHERS = [
    "zaoyang_aid.hashers.Argon2idWorkerHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after an idle hour (SESSION_IDLE_TIMEOUT seconds), kept by zaoyang_aid.sessions: a
# "last seen" stamp refreshed at most once a minute, so a page view does not save the session (it was a
# durable commit per view with SESSION_SAVE_EVERY_REQUEST). The store keeps a session a day longer than
# the idle limit only so that the middleware, which tells the user why, is what ends it; the nightly
# clearsessions job deletes it after that. The cookie itself dies with the browser.
SESSION_IDLE_TIMEOUT = _int("SESSION_IDLE_TIMEOUT", default=3600)
if SESSION_IDLE_TIMEOUT < 120:
    raise ImproperlyConfigured(f"SESSION_IDLE_TIMEOUT must be 120 seconds or more; got {SESSION_IDLE_TIMEOUT}")
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT + 24 * 3600
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Where a page view reads the session: "db" (PostgreSQL, or the quick start's SQLite) or "cached_db"
# (Redis first, the database behind it; a Redis outage falls back to the database). With Redis
# configured, cached_db reads a session in 0.4-1.6 ms against 3.6-12 ms from PostgreSQL on the loaded
# 2-core bench machine (bench/sessions.py). The README's production settings set it; not the default,
# because the query counts the tests pin count the session's read, and CI runs them with Redis.
_SESSION_STORES = {
    "db": "django.contrib.sessions.backends.db",
    "cached_db": "django.contrib.sessions.backends.cached_db",
}
_SESSION_STORE = _str("SESSION_STORE", default="db")
if _SESSION_STORE not in _SESSION_STORES:
    raise ImproperlyConfigured(f"SESSION_STORE must be db or cached_db; got {_SESSION_STORE!r}")
if _SESSION_STORE == "cached_db" and not REDIS_URL:
    raise ImproperlyConfigured(
        "SESSION_STORE=cached_db needs REDIS_URL: the quick start's file cache is no faster than its database."
    )
SESSION_ENGINE = _SESSION_STORES[_SESSION_STORE]

# django-axes: the 6th try after 5 failures within 15 minutes is refused, right password or not.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# How many proxies of ours stand before Django (nginx: 1); the client's address is then read from
# X-Forwarded-For by zaoyang_aid.audit.client_ip, for the audit log and for axes alike, so that a
# stranger's failed logins lock only (username, their address), never a colleague behind the proxy.
TRUSTED_PROXIES = _int("TRUSTED_PROXIES", default=1 if _bool("BEHIND_TLS_PROXY", default=False) else 0)
AXES_CLIENT_IP_CALLABLE = "zaoyang_aid.audit.client_ip"
AXES_VERBOSE = False

# --- Security (production values switch on with DEBUG off) --------------------------------------
SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Cookies only over https in production; the quick start serves plain http on 127.0.0.1 with DEBUG off.
SESSION_COOKIE_SECURE = _bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = _int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if _bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Content-Security-Policy (django-csp): scripts and styles only from our own static files (WhiteNoise,
# no CDN) or carrying the page's nonce (`nonce="{{ request.csp_nonce }}"`); no inline event handlers,
# no style="" attributes. Bootstrap's data: SVG icons (navbar toggler, checkboxes, selects) need img-src
# data:. tests/test_security_headers.py renders every page as every role against this policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Permissions-Policy: every powerful feature the app does not use is denied to the page and to any
# frame. Photo upload is a plain <input type=file> (the phone offers camera or album itself), which
# the camera feature does not govern: that feature gates getUserMedia() only.
PERMISSIONS_POLICY = [
    "accelerometer",
    "autoplay",
    "browsing-topics",
    "camera",
    "display-capture",
    "encrypted-media",
    "fullscreen",
    "geolocation",
    "gyroscope",
    "hid",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
]
# /healthz is probed over plain HTTP by load balancers on the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Email ------------------------------------------------------------------------------------
EMAIL_BACKEND = _str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = _str("EMAIL_HOST", default="localhost")
EMAIL_PORT = _int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = _str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = _str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = _bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = _bool("EMAIL_USE_SSL", default=False)
DEFAULT_FROM_EMAIL = _str("DEFAULT_FROM_EMAIL", default="资助帮扶 <noreply@zaoyang-aid.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on.")

# --- Language, time ---------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
# Chinese for third-party apps that ship none (django-axes in the admin): locale/zh_Hans, .mo committed.
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

# --- Static and uploaded files ----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(_str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))


def _bootstrap_dist() -> Path:
    """Bootstrap's dist files, installed by the pinned bootstrap-wrapper wheel (requirements.txt)."""
    spec = importlib.util.find_spec("bootstrap")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        if (Path(location) / "css" / "bootstrap.min.css").exists():
            return Path(location)
    raise ImproperlyConfigured("Bootstrap's files are missing: pip install -r requirements.txt")


STATICFILES_DIRS = [BASE_DIR / "static", ("vendor/bootstrap", _bootstrap_dist())]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and _bool("STATIC_MANIFEST", default=True)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Tests and the quick start serve static files straight from the apps and static/ (no collectstatic).
WHITENOISE_USE_FINDERS = DEBUG or _bool("WHITENOISE_USE_FINDERS", default=False)
# Uploaded files (home-visit photos) live outside the web root and are served by views that check
# the viewer's scope; there is deliberately no MEDIA_URL route.
MEDIA_ROOT = Path(_str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Uploads over 1 MB are spooled to a temporary file as they arrive, not held in memory: six 8-MB photos
# in one request are read one at a time (guidance.photos). A request with more files than any form
# takes is refused (400) before its files are written anywhere; up to this many, the home-visit form
# says in Chinese how many photos it takes. Form fields without files stay at Django's 2.5 MB.
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = 20

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Domain settings --------------------------------------------------------------------------
# Escalation of a missed weekly talk: consecutive unacknowledged missed weeks before the school's
# officers, then the county centre, are told too.
REMINDER_OFFICER_AFTER = _int("REMINDER_OFFICER_AFTER", default=2)
REMINDER_COUNTY_AFTER = _int("REMINDER_COUNTY_AFTER", default=4)
# How many weeks back a sweep catches up school weeks whose morning sweep never ran (beat or worker
# down); older ones are recorded as skipped, not reminded about (guidance/reminders.py). 0 = none.
REMINDER_CATCH_UP_WEEKS = _int("REMINDER_CATCH_UP_WEEKS", default=2)
if REMINDER_CATCH_UP_WEEKS < 0:
    raise ImproperlyConfigured(f"REMINDER_CATCH_UP_WEEKS must be 0 or more; got {REMINDER_CATCH_UP_WEEKS}")
# Channels that carry a daily digest of reminders beyond the in-app notification centre (registry in
# guidance/channels.py; room for "sms" / "wecom" later). The webhook is off while its URL is empty.
REMINDER_CHANNELS = [c.strip() for c in _str("REMINDER_CHANNELS", default="email,webhook").split(",") if c.strip()]
REMINDER_WEBHOOK_URL = _str("REMINDER_WEBHOOK_URL", default="")
REMINDER_WEBHOOK_TIMEOUT = _int("REMINDER_WEBHOOK_TIMEOUT", default=5)

# --- Excel reports (casefiles/reports.py) ---------------------------------------------------------
# A report of more rows than this is written by a Celery task with a progress page; fewer download at once.
REPORT_EXPORT_INLINE_ROWS = _int("REPORT_EXPORT_INLINE_ROWS", default=5000)
# A report file written in the background is kept this many hours for its requester, then deleted.
REPORT_EXPORT_KEEP_HOURS = _int("REPORT_EXPORT_KEEP_HOURS", default=72)
# 部门联动 (casefiles/referrals.py): days a department has to answer a referral (editable per referral).
REFERRAL_DUE_DAYS = _int("REFERRAL_DUE_DAYS", default=30)
# --- Roster imports (casefiles/imports/, casefiles/import_views.py) ------------------------------
# An uploaded roster larger than this (MB) is refused before any parser opens it.
ROSTER_IMPORT_MAX_MB = _int("ROSTER_IMPORT_MAX_MB", default=20)
# An uploaded roster not committed is deleted (file and preview) after this many hours; a committed one at once.
ROSTER_IMPORT_KEEP_HOURS = _int("ROSTER_IMPORT_KEEP_HOURS", default=24)
# Prefix for the links in digests ("https://zizhu.example.cn"); empty leaves them site-relative.
REMINDER_SITE_URL = _str("REMINDER_SITE_URL", default="").rstrip("/")
# The mechanism's one-to-one rule: a teacher above this many active pairings needs a confirmation.
PAIRING_TEACHER_LOAD_LIMIT = _int("PAIRING_TEACHER_LOAD_LIMIT", default=1)

# --- 部门名单比对 (casefiles/crosscheck.py) ------------------------------------------------------------
# The largest department list accepted (read in the request, never kept): a county 低保 list is ~2 MB.
DEPARTMENT_LIST_MAX_BYTES = _int("DEPARTMENT_LIST_MAX_BYTES", default=10 * 1024 * 1024)

# --- 劝返 一人一案 (casefiles/recovery.py) ------------------------------------------------------------
# An open case whose next step (or, with none set, last attempt or opening) is more than this many
# days past reminds its responsible officer (the nightly recovery-overdue job).
RECOVERY_OVERDUE_DAYS = _int("RECOVERY_OVERDUE_DAYS", default=7)
if RECOVERY_OVERDUE_DAYS < 0:
    raise ImproperlyConfigured(f"RECOVERY_OVERDUE_DAYS must be 0 or more; got {RECOVERY_OVERDUE_DAYS}")

# --- Logging: ID numbers never reach a log line ---------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_id_numbers": {"()": "zaoyang_aid.masking.MaskIdNumbersFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["mask_id_numbers"],
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["console"], "level": _str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # runserver's request lines go through the same masking filter as everything else.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# --- 控辍保学 (casefiles/dropouts.py) ------------------------------------------------------------------
# Absences without leave adding up to this many days in one school week propose a 疑似辍学 entry.
DROPOUT_SUSPECT_DAYS = _int("DROPOUT_SUSPECT_DAYS", default=3)
# A school's 月报 of a month is due by this day of the next month.
DROPOUT_REPORT_DUE_DAY = _int("DROPOUT_REPORT_DUE_DAY", default=5)
# The largest 适龄儿童 list accepted from a town (MB).
SCHOOL_AGE_LIST_MAX_MB = _int("SCHOOL_AGE_LIST_MAX_MB", default=10)
if not 1 <= DROPOUT_REPORT_DUE_DAY <= 28:
    raise ImproperlyConfigured(f"DROPOUT_REPORT_DUE_DAY must be a day from 1 to 28; got {DROPOUT_REPORT_DUE_DAY}")
if DROPOUT_SUSPECT_DAYS < 1:
    raise ImproperlyConfigured(f"DROPOUT_SUSPECT_DAYS must be 1 or more; got {DROPOUT_SUSPECT_DAYS}")
# Talk records whose words speak of absence (旷课, 不想上学 …) propose a 疑似辍学 entry (casefiles/dropouts.py).
CELERY_BEAT_SCHEDULE["dropout-talk-proposals"] = {
    "task": "casefiles.propose_dropouts_from_talks",
    "schedule": crontab(hour=2, minute=40),
}
