"""Plugin settings, the event-bus route they add, the system check, and derived settings."""
from types import SimpleNamespace
from unittest import mock

from django.core import checks
from django.test import RequestFactory, SimpleTestCase, override_settings
from django.urls import reverse

from openedx_lti_provider_companion import checks as checks_module
from openedx_lti_provider_companion import conf
from openedx_lti_provider_companion.settings import common, production

DOC_ROUTE = {
    "org.openedx.learning.problem.weighted_score.changed.v1": {
        "learning-problem-score-lifecycle": {"event_key_field": "problem_score.user_id", "enabled": True},
    },
}


class PluginSettings(SimpleTestCase):
    def test_common_adds_defaults_and_the_documented_route(self):
        settings = SimpleNamespace(EVENT_BUS_PRODUCER_CONFIG={"other.event.v1": {"t": {"event_key_field": "a", "enabled": True}}})
        common.plugin_settings(settings)
        self.assertEqual(settings.LTI_PROVIDER_CLOCK_SKEW_SECONDS, 30)
        self.assertIs(settings.LTI_PROVIDER_REPUBLISH_SCORES, True)
        self.assertEqual(
            settings.EVENT_BUS_PRODUCER_CONFIG,
            dict(DOC_ROUTE, **{"other.event.v1": {"t": {"event_key_field": "a", "enabled": True}}}),
        )

    def test_an_operator_route_is_kept(self):
        own = {"org.openedx.learning.problem.weighted_score.changed.v1": {"custom-topic": {"event_key_field": "problem_score.user_id", "enabled": False}}}
        settings = SimpleNamespace(EVENT_BUS_PRODUCER_CONFIG=dict(own), LTI_PROVIDER_ISSUER="https://lti.example.org")
        common.plugin_settings(settings)
        self.assertEqual(settings.EVENT_BUS_PRODUCER_CONFIG, own)
        self.assertEqual(settings.LTI_PROVIDER_ISSUER, "https://lti.example.org")

    def test_production_takes_yaml_values_and_moves_our_route(self):
        settings = SimpleNamespace()
        common.plugin_settings(settings)
        settings.ENV_TOKENS = {
            "LTI_PROVIDER_SCORE_EVENT_TYPE": "org.example.learning.problem.weighted_score.changed.v1",
            "LTI_PROVIDER_SCORE_TOPIC": "lti-scores",
            "LTI_PROVIDER_ISSUER": "https://tool.example.org",
        }
        production.plugin_settings(settings)
        self.assertEqual(settings.LTI_PROVIDER_ISSUER, "https://tool.example.org")
        self.assertEqual(
            settings.EVENT_BUS_PRODUCER_CONFIG,
            {"org.example.learning.problem.weighted_score.changed.v1": {"lti-scores": {"event_key_field": "problem_score.user_id", "enabled": True}}},
        )

    def test_the_test_settings_got_the_route_like_the_lms(self):
        from django.conf import settings  # pylint: disable=import-outside-toplevel
        self.assertEqual(settings.EVENT_BUS_PRODUCER_CONFIG, DOC_ROUTE)


class SystemCheck(SimpleTestCase):
    def run_check(self):
        return [m for m in checks.run_checks() if m.id.startswith("openedx_lti_provider_companion.")]

    def test_routed_event_passes(self):
        self.assertEqual(self.run_check(), [])

    @override_settings(EVENT_BUS_PRODUCER_CONFIG={})
    def test_unrouted_event_warns(self):
        self.assertEqual([m.id for m in self.run_check()], ["openedx_lti_provider_companion.W001"])

    @override_settings(EVENT_BUS_PRODUCER_CONFIG={k: {t: dict(c, enabled=False) for t, c in v.items()} for k, v in DOC_ROUTE.items()})
    def test_disabled_route_warns(self):
        self.assertEqual(len(self.run_check()), 1)

    @override_settings(EVENT_BUS_PRODUCER_CONFIG={}, LTI_PROVIDER_REPUBLISH_SCORES=False)
    def test_no_warning_when_republishing_is_off(self):
        self.assertEqual(self.run_check(), [])

    def confluent_kafka(self, version):
        def fake(name):
            if name != "confluent-kafka":
                raise AssertionError(name)
            if version is None:
                raise checks_module.metadata.PackageNotFoundError(name)
            return version
        return mock.patch.object(checks_module.metadata, "version", side_effect=fake)

    def test_confluent_kafka_older_than_1_8_2_warns(self):
        for old in ("1.7.0", "1.8.1", "1.6"):
            with self.confluent_kafka(old):
                messages = self.run_check()
            self.assertEqual([m.id for m in messages], ["openedx_lti_provider_companion.W002"], old)
            self.assertIn(f"confluent-kafka {old}", messages[0].msg)
            self.assertIn(">=1.8.2", messages[0].hint)

    def test_confluent_kafka_1_8_2_or_later_or_absent_passes(self):
        for ok in ("1.8.2", "1.9.0", "2.5.3", "2.0.0rc1", None):
            with self.confluent_kafka(ok):
                self.assertEqual(self.run_check(), [], ok)


class DerivedSettings(SimpleTestCase):
    def test_origin_like_the_url_standard(self):
        cases = {
            "https://LMS.Example.org:443/": "https://lms.example.org",
            "http://lms.example.org:80": "http://lms.example.org",
            "http://localhost:8000/some/path?q=1": "http://localhost:8000",
            "https://[::1]:8443/": "https://[::1]:8443",
        }
        for url, origin in cases.items():
            with self.subTest(url=url):
                self.assertEqual(conf.origin_of(url), origin)

    def test_audience_defaults_to_the_lms_root_origin_then_the_request(self):
        request = RequestFactory().get("/", HTTP_HOST="lms.example.org")
        self.assertEqual(conf.audience(request), "https://lms.example.org")
        with override_settings(LMS_ROOT_URL=None):
            self.assertEqual(conf.audience(request), "http://lms.example.org")
        with override_settings(LTI_PROVIDER_AUDIENCE="https://aud.example"):
            self.assertEqual(conf.audience(request), "https://aud.example")

    def test_jwks_url_defaults_to_the_tool_endpoint(self):
        with override_settings(LTI_PROVIDER_ISSUER="https://lti.example.org/"):
            self.assertEqual(conf.issuer(), "https://lti.example.org")
            self.assertEqual(conf.jwks_url(), "https://lti.example.org/lti/1.3/jwks")
        with override_settings(LTI_PROVIDER_JWKS_URL="http://lti:3000/lti/1.3/jwks"):
            self.assertEqual(conf.jwks_url(), "http://lti:3000/lti/1.3/jwks")

    def test_false_values_are_not_replaced_by_defaults(self):
        with override_settings(LTI_PROVIDER_ALLOW_INACTIVE_USERS=False):
            self.assertIs(conf.get("LTI_PROVIDER_ALLOW_INACTIVE_USERS"), False)

    def test_login_url_as_the_plugin_mounts_it(self):
        self.assertEqual(reverse("lti_provider_companion:token_login"), "/lti-provider/login")
