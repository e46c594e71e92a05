"""The test run's own environment, set before Django reads settings (see settings_test.py).

Tests run with DEBUG off, like production, so they need a non-development SECRET_KEY; a fresh one is
made per run unless the caller set one. Uploaded files and the embedded broker go to a temporary
folder so a test run never touches the developer's var/.
"""

import os
import secrets
import tempfile

os.environ.setdefault("SECRET_KEY", "test-" + secrets.token_urlsafe(48))
# Not the developer's .env (the quick start's turns off secure cookies and allows demo data): the
# suite runs with production's defaults and what the caller's environment says.
os.environ.setdefault("ZAOYANG_ENV_FILE", os.devnull)
os.environ.setdefault("ZAOYANG_VAR_DIR", tempfile.mkdtemp(prefix="zaoyang-test-var-"))
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("STATIC_MANIFEST", "0")
os.environ.setdefault("WHITENOISE_USE_FINDERS", "1")
