"""Minimal Django settings for the companion's tests: in-memory SQLite, no Open edX packages."""
import sys

from openedx_lti_provider_companion.settings.common import plugin_settings

SECRET_KEY = "companion-tests-only"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["lms.example.org", "testserver"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "openedx_lti_provider_companion.apps.LtiProviderCompanionConfig",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
X_FRAME_OPTIONS = "DENY"  # as the LMS sets it
ROOT_URLCONF = "tests.urls"
# As the LMS lists it: inactive (not yet e-mail-activated) accounts may log in.
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.AllowAllUsersModelBackend"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LMS_ROOT_URL = "https://lms.example.org"
LTI_PROVIDER_ISSUER = "https://lti.example.org"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "CRITICAL"}}

# Applied the way edx-django-utils applies plugin settings to the LMS settings module.
plugin_settings(sys.modules[__name__])
