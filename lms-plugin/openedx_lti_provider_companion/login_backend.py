"""
Which authentication backend the session records for the learner.

Django re-loads the user on every request through the recorded backend, which must be listed in
AUTHENTICATION_BACKENDS; a plain ModelBackend would drop an inactive user from the session on the
next request, so inactive users need an AllowAllUsersModelBackend (the LMS lists one).
"""
from django.conf import settings
from django.contrib.auth.backends import AllowAllUsersModelBackend, ModelBackend
from django.utils.module_loading import import_string

from . import conf
from .errors import LoginRefused


def backend_for(user):
    configured = conf.get("LTI_PROVIDER_LOGIN_BACKEND")
    if configured:
        if configured not in settings.AUTHENTICATION_BACKENDS:
            raise LoginRefused("COMPANION_NOT_CONFIGURED", "LTI_PROVIDER_LOGIN_BACKEND not in AUTHENTICATION_BACKENDS")
        return configured
    wanted = ModelBackend if user.is_active else AllowAllUsersModelBackend
    for path in settings.AUTHENTICATION_BACKENDS:
        try:
            backend = import_string(path)
        except ImportError:
            continue
        if isinstance(backend, type) and issubclass(backend, wanted):
            return path
    raise LoginRefused("COMPANION_NOT_CONFIGURED", f"no {wanted.__name__} in AUTHENTICATION_BACKENDS")
