"""The backend recorded in the session must exist in AUTHENTICATION_BACKENDS and keep the user."""
from types import SimpleNamespace

from django.test import SimpleTestCase, override_settings

from openedx_lti_provider_companion.errors import LoginRefused
from openedx_lti_provider_companion.login_backend import backend_for

ACTIVE, INACTIVE = SimpleNamespace(is_active=True), SimpleNamespace(is_active=False)
MODEL = "django.contrib.auth.backends.ModelBackend"
ALLOW_ALL = "django.contrib.auth.backends.AllowAllUsersModelBackend"


class BackendFor(SimpleTestCase):
    # Shaped like the LMS list: a permission-only backend first, one that cannot be imported here.
    @override_settings(AUTHENTICATION_BACKENDS=["rules.permissions.ObjectPermissionBackend", MODEL, ALLOW_ALL])
    def test_first_fitting_backend(self):
        self.assertEqual(backend_for(ACTIVE), MODEL)
        self.assertEqual(backend_for(INACTIVE), ALLOW_ALL)

    @override_settings(AUTHENTICATION_BACKENDS=[MODEL])
    def test_inactive_users_need_an_allow_all_backend(self):
        with self.assertRaises(LoginRefused) as ctx:
            backend_for(INACTIVE)
        self.assertEqual(ctx.exception.code, "COMPANION_NOT_CONFIGURED")

    @override_settings(AUTHENTICATION_BACKENDS=[MODEL, ALLOW_ALL], LTI_PROVIDER_LOGIN_BACKEND=ALLOW_ALL)
    def test_configured_backend(self):
        self.assertEqual(backend_for(ACTIVE), ALLOW_ALL)

    @override_settings(AUTHENTICATION_BACKENDS=[MODEL], LTI_PROVIDER_LOGIN_BACKEND=ALLOW_ALL)
    def test_configured_backend_must_be_listed(self):
        with self.assertRaises(LoginRefused):
            backend_for(ACTIVE)
