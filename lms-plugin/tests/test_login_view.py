"""POST/GET /lti-provider/login: the whole token handoff against Django's auth and sessions."""
import json
import os
import time
from unittest import mock

from django.contrib.auth import get_user_model
from django.test import Client, TestCase, override_settings

from openedx_lti_provider_companion import openedx_imports
from openedx_lti_provider_companion.models import UsedLoginToken

from . import jwt_support as js

LOGIN = "/lti-provider/login"
HANDOFF_VECTOR = os.path.join(os.path.dirname(__file__), "fixtures", "handoff-token.json")


class LoginViewTestCase(TestCase):
    def setUp(self):
        self.fetch = js.FakeFetch()
        patcher = mock.patch("openedx_lti_provider_companion.jwks.fetch_json", self.fetch)
        patcher.start()
        self.addCleanup(patcher.stop)
        # Each test starts with an empty JWKS cache.
        cache_reset = override_settings(LTI_PROVIDER_JWKS_CACHE_SECONDS=300)
        cache_reset.enable()
        self.addCleanup(cache_reset.disable)
        self.user = get_user_model().objects.create_user(username="learner_1", email="l1@example.invalid")
        self.assertEqual(self.user.pk, 1)
        openedx_imports.expected_user_changes.clear()

    def token(self, **overrides):
        return js.sign(js.claims(**overrides))

    def assertLoggedIn(self, client, user):
        self.assertEqual(client.session.get("_auth_user_id"), str(user.pk))

    def assertRefused(self, response, status, code, token=None):
        self.assertEqual(response.status_code, status)
        self.assertEqual(response["X-Error-Code"], code)
        body = response.content.decode()
        self.assertIn(code, body)
        self.assertNotIn("X-Frame-Options", response)  # readable inside the platform's iframe
        if token:
            self.assertNotIn(token, body)
            self.assertNotIn(token.split(".")[1], body)
        self.assertNotIn("_auth_user_id", self.client.session)


class SuccessfulLogin(LoginViewTestCase):
    def test_post_logs_the_user_in_and_redirects_to_the_signed_next(self):
        claims = js.claims()
        response = self.client.post(LOGIN, {"token": js.sign(claims), "next": "/ignored-unsigned"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(response["Location"], claims["next"])
        self.assertEqual(response["Referrer-Policy"], "no-referrer")
        self.assertIn("no-cache", response["Cache-Control"])
        self.assertNotIn("X-Frame-Options", response)
        self.assertLoggedIn(self.client, self.user)
        self.assertEqual(self.client.session["_auth_user_backend"], "django.contrib.auth.backends.AllowAllUsersModelBackend")
        self.assertEqual(response.cookies["edxloggedin"].value, "true")
        self.assertEqual(openedx_imports.expected_user_changes, [self.user.pk])
        # The session is real: the next request is authenticated as that user.
        self.assertEqual(self.client.get(LOGIN).wsgi_request.user, self.user)

    def test_get_works_too(self):
        response = self.client.get(LOGIN, {"token": self.token()})
        self.assertEqual(response.status_code, 302)
        self.assertLoggedIn(self.client, self.user)

    def test_trailing_slash(self):
        self.assertEqual(self.client.post(LOGIN + "/", {"token": self.token()}).status_code, 302)

    def test_the_form_next_is_used_when_the_token_has_none(self):
        response = self.client.post(LOGIN, {"token": self.token(next=js.DROP), "next": "/courses/x/jump_to/y"})
        self.assertEqual(response["Location"], "/courses/x/jump_to/y")

    def test_unsafe_next_values_redirect_home(self):
        for bad in ("https://evil.example/", "//evil.example", "/\\evil.example", "/\t/evil.example", "javascript:alert(1)"):
            with self.subTest(next=bad):
                response = Client().post(LOGIN, {"token": self.token(next=bad)})
                self.assertEqual(response["Location"], "/")
                response = Client().post(LOGIN, {"token": self.token(next=js.DROP), "next": bad})
                self.assertEqual(response["Location"], "/")

    def test_no_csrf_token_needed(self):
        client = Client(enforce_csrf_checks=True)
        self.assertEqual(client.post(LOGIN, {"token": self.token()}).status_code, 302)

    def test_replaces_another_logged_in_user(self):
        other = get_user_model().objects.create_user(username="someone_else")
        self.client.force_login(other)
        self.client.post(LOGIN, {"token": self.token()})
        self.assertLoggedIn(self.client, self.user)

    def test_inactive_accounts_may_log_in_by_default_and_stay_logged_in(self):
        self.user.is_active = False
        self.user.save()
        self.assertEqual(self.client.post(LOGIN, {"token": self.token()}).status_code, 302)
        self.assertEqual(self.client.get(LOGIN).wsgi_request.user, self.user)

    @override_settings(LMS_ROOT_URL="https://LMS.example.org:443/")
    def test_the_token_src_launch_handoff_ts_produces(self):
        with open(HANDOFF_VECTOR, encoding="utf-8") as f:
            vector = json.load(f)
        self.fetch.document = vector["jwks"]
        user = get_user_model().objects.create_user(username="learner_4242", id=4242)
        with mock.patch("openedx_lti_provider_companion.views.time") as fake_time:
            fake_time.time.return_value = vector["now_epoch"] + 2
            response = self.client.post(LOGIN, vector["form_fields"])
        self.assertEqual(response.status_code, 302)
        self.assertEqual(response["Location"], vector["form_fields"]["next"])
        self.assertLoggedIn(self.client, user)


class RefusedLogin(LoginViewTestCase):
    def test_missing_token_does_not_fetch_keys(self):
        self.assertRefused(self.client.post(LOGIN, {}), 400, "COMPANION_TOKEN_MISSING")
        self.assertEqual(self.fetch.calls, 0)

    def test_replayed_token(self):
        token = self.token()
        self.assertEqual(Client().post(LOGIN, {"token": token}).status_code, 302)
        self.assertRefused(self.client.post(LOGIN, {"token": token}), 403, "COMPANION_TOKEN_REPLAYED", token)
        self.assertEqual(UsedLoginToken.objects.count(), 1)

    def test_unknown_user_does_not_burn_the_token(self):
        token = self.token(sub="not_yet_created", lms_user_id=2)
        self.assertRefused(self.client.post(LOGIN, {"token": token}), 403, "COMPANION_USER_UNKNOWN", token)
        get_user_model().objects.create_user(username="not_yet_created", id=2)
        self.assertEqual(self.client.post(LOGIN, {"token": token}).status_code, 302)

    def test_user_id_must_match_the_username(self):
        get_user_model().objects.create_user(username="learner_2")
        token = self.token(sub="learner_2", lms_user_id=1)
        self.assertRefused(self.client.post(LOGIN, {"token": token}), 403, "COMPANION_USER_MISMATCH", token)

    @override_settings(LTI_PROVIDER_ALLOW_INACTIVE_USERS=False)
    def test_inactive_user_when_not_allowed(self):
        self.user.is_active = False
        self.user.save()
        token = self.token()
        self.assertRefused(self.client.post(LOGIN, {"token": token}), 403, "COMPANION_USER_INACTIVE", token)

    @override_settings(AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.ModelBackend"])
    def test_inactive_user_without_a_backend_that_keeps_them(self):
        self.user.is_active = False
        self.user.save()
        token = self.token()
        self.assertRefused(self.client.post(LOGIN, {"token": token}), 503, "COMPANION_NOT_CONFIGURED", token)
        self.assertEqual(UsedLoginToken.objects.count(), 0)

    def test_expired(self):
        token = self.token(now=int(time.time()) - 120)
        self.assertRefused(self.client.post(LOGIN, {"token": token}), 403, "COMPANION_TOKEN_EXPIRED", token)

    def test_wrong_audience(self):
        token = self.token(aud="https://another-lms.example.org")
        self.assertRefused(self.client.post(LOGIN, {"token": token}), 403, "COMPANION_TOKEN_AUDIENCE_INVALID", token)

    @override_settings(LTI_PROVIDER_AUDIENCE="https://lms-internal.example.org")
    def test_explicit_audience_setting_wins(self):
        token = self.token()
        self.assertRefused(self.client.post(LOGIN, {"token": token}), 403, "COMPANION_TOKEN_AUDIENCE_INVALID", token)

    def test_wrong_issuer(self):
        token = self.token(iss="https://evil.example")
        self.assertRefused(self.client.post(LOGIN, {"token": token}), 403, "COMPANION_TOKEN_ISSUER_INVALID", token)

    def test_alg_none(self):
        token = js.unsigned_token(js.claims())
        self.assertRefused(self.client.post(LOGIN, {"token": token}), 400, "COMPANION_TOKEN_ALG_NOT_ALLOWED", token)

    def test_hs256(self):
        token = js.hs256_with_public_key(js.claims())
        self.assertRefused(self.client.post(LOGIN, {"token": token}), 400, "COMPANION_TOKEN_ALG_NOT_ALLOWED", token)

    def test_critical_header_is_a_refusal_not_a_server_error(self):
        token = js.sign(js.claims(), headers={"crit": ["exp"], "exp": 1})
        self.assertRefused(self.client.post(LOGIN, {"token": token}), 400, "COMPANION_TOKEN_MALFORMED", token)

    def test_bad_signature(self):
        token = js.sign(js.claims(), private_key=js.rsa_key("intruder"))
        self.assertRefused(self.client.post(LOGIN, {"token": token}), 403, "COMPANION_TOKEN_SIGNATURE_INVALID", token)

    def test_jwks_unreachable(self):
        self.fetch.error = OSError("connection refused")
        token = self.token()
        self.assertRefused(self.client.post(LOGIN, {"token": token}), 503, "COMPANION_JWKS_UNAVAILABLE", token)

    @override_settings(LTI_PROVIDER_ISSUER=None)
    def test_not_configured(self):
        self.assertRefused(self.client.post(LOGIN, {"token": self.token()}), 503, "COMPANION_NOT_CONFIGURED")

    def test_other_methods(self):
        self.assertEqual(self.client.put(LOGIN).status_code, 405)
