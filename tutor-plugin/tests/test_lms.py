"""LMS side: companion in the image, settings (valid Python, producer untouched), FEATURES."""
import ast
import os
import tomllib
import unittest
import warnings

import yaml

from tests.tutor_env import REPO_DIR, Renderer, config_and_files, load_config

SCORE_EVENT = "org.openedx.learning.problem.weighted_score.changed.v1"
OUR_ROUTE = {"learning-problem-score-lifecycle": {"event_key_field": "problem_score.user_id", "enabled": True}}
PRODUCER_SETTINGS = {
    "EVENT_BUS_PRODUCER", "EVENT_BUS_CONSUMER", "EVENT_BUS_TOPIC_PREFIX", "EVENT_BUS_REDIS_CONNECTION_URL",
    "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS", "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL",
}
SETTINGS_PATCHES = ("openedx-lms-common-settings", "openedx-lms-production-settings", "openedx-lms-development-settings")
REPOSITORY = "https://git.example.org/openedx-lti-provider.git"


def run_settings(source, **preset):
    """Execute a rendered settings module the way Django imports it; return its globals."""
    namespace = {"ENV_TOKENS": {"LMS_BASE": "learn.example.org"}, **preset}
    exec(compile(source, "settings.py", "exec"), namespace)  # pylint: disable=exec-used
    return namespace


def assigned_names(source):
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


class LmsSettingsTest(unittest.TestCase):
    def test_settings_are_valid_python_in_every_mode(self):
        for user in ({}, {"LTI_PROVIDER_SESSION_HANDOFF": "token"}, {"LTI_PROVIDER_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"}, {"ENABLE_HTTPS": False}):
            _config, files = config_and_files(**user)
            for name in ("apps/openedx/settings/lms/production.py", "apps/openedx/settings/lms/development.py"):
                compile(files[name], name, "exec")

    def test_patches_never_set_the_producer(self):
        for user in ({}, {"LTI_PROVIDER_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"}):
            renderer = Renderer(load_config(**user))
            for name in SETTINGS_PATCHES:
                self.assertFalse(assigned_names(renderer.patch(name)) & PRODUCER_SETTINGS, name)

    def test_route_is_added_and_routes_already_there_are_kept(self):
        _config, files = config_and_files()
        settings = run_settings(files["apps/openedx/settings/lms/production.py"])
        self.assertEqual(settings["EVENT_BUS_PRODUCER_CONFIG"][SCORE_EVENT], OUR_ROUTE)
        self.assertEqual(settings["EVENT_BUS_PRODUCER"], "edx_event_bus_redis.create_producer")
        other = {"org.openedx.content_authoring.xblock.published.v1": {"content-authoring-xblock-lifecycle": {"event_key_field": "xblock_info.usage_key", "enabled": True}}}
        mine = {SCORE_EVENT: {"my-topic": {"event_key_field": "problem_score.user_id", "enabled": True}}}
        settings = run_settings(files["apps/openedx/settings/lms/production.py"], EVENT_BUS_PRODUCER_CONFIG={**other, **mine})
        self.assertEqual(settings["EVENT_BUS_PRODUCER_CONFIG"], {**other, **mine})
        settings = run_settings(files["apps/openedx/settings/lms/development.py"], EVENT_BUS_PRODUCER_CONFIG=dict(other))
        self.assertEqual(settings["EVENT_BUS_PRODUCER_CONFIG"], {**other, SCORE_EVENT: OUR_ROUTE})

    def test_kafka_bus_warns_when_the_lms_still_produces_to_redis(self):
        renderer = Renderer(load_config(LTI_PROVIDER_KAFKA_BOOTSTRAP_SERVERS="kafka:9092"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run_settings(renderer.host("lms-production.py"))
        self.assertEqual(len(caught), 1)
        self.assertIn("EVENT_BUS_PRODUCER", str(caught[0].message))
        # The operator enabled the Kafka bus (their own patch): no warning.
        renderer.patches["openedx-common-settings"] = ["EVENT_BUS_PRODUCER = 'edx_event_bus_kafka.create_producer'"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            settings = run_settings(renderer.host("lms-production.py"))
        self.assertEqual(caught, [])
        self.assertEqual(settings["EVENT_BUS_PRODUCER"], "edx_event_bus_kafka.create_producer")
        # Redis bus: no check at all.
        _config, files = config_and_files()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run_settings(files["apps/openedx/settings/lms/production.py"])
        self.assertEqual(caught, [])

    def test_token_login_settings_name_the_service(self):
        _config, files = config_and_files()
        settings = run_settings(files["apps/openedx/settings/lms/production.py"])
        self.assertEqual(settings["LTI_PROVIDER_ISSUER"], "https://lti.learn.example.org")
        self.assertEqual(settings["LTI_PROVIDER_JWKS_URL"], "http://lti-provider:3000/lti/1.3/jwks")

    def test_registration_rate_limit_is_left_alone_unless_set(self):
        _config, files = config_and_files()
        self.assertNotIn("REGISTRATION_RATELIMIT", run_settings(files["apps/openedx/settings/lms/production.py"]))
        _config, files = config_and_files(LTI_PROVIDER_LMS_REGISTRATION_RATELIMIT="2000/d")
        self.assertEqual(run_settings(files["apps/openedx/settings/lms/production.py"])["REGISTRATION_RATELIMIT"], "2000/d")

    def test_relay_enables_the_lms_lti_provider_and_token_does_not(self):
        _config, files = config_and_files()
        env = yaml.safe_load(files["apps/openedx/config/lms.env.yml"])
        self.assertIs(env["FEATURES"]["ENABLE_LTI_PROVIDER"], True)
        self.assertIs(env["ENABLE_LTI_PROVIDER"], True)
        self.assertIs(env["FEATURES"]["CERTIFICATES_HTML_VIEW"], True)
        settings = run_settings(files["apps/openedx/settings/lms/production.py"])
        self.assertEqual(settings["LTI_USER_EMAIL_DOMAIN"], "lti.learn.example.org")

        _config, files = config_and_files(LTI_PROVIDER_SESSION_HANDOFF="token")
        env = yaml.safe_load(files["apps/openedx/config/lms.env.yml"])
        self.assertNotIn("ENABLE_LTI_PROVIDER", env["FEATURES"])
        self.assertNotIn("ENABLE_LTI_PROVIDER", env)
        self.assertNotIn("LTI_USER_EMAIL_DOMAIN", run_settings(files["apps/openedx/settings/lms/production.py"]))


class LmsImageTest(unittest.TestCase):
    def run_lines(self, files):
        dockerfile = files["build/openedx/Dockerfile"]
        return [line.strip() for line in dockerfile.replace("\\\n", " ").splitlines() if line.strip().startswith("RUN")]

    def test_companion_is_installed_from_the_repository(self):
        _config, files = config_and_files(LTI_PROVIDER_REPOSITORY=REPOSITORY)
        installs = [line for line in self.run_lines(files) if "openedx-lti-provider-companion" in line]
        self.assertEqual(len(installs), 1)
        self.assertIn(
            f"$PIP_COMMAND install 'openedx-lti-provider-companion @ git+{REPOSITORY}@v0.1.0#subdirectory=lms-plugin'",
            installs[0],
        )
        # The requirement names the package that really is in that subdirectory.
        with open(os.path.join(REPO_DIR, "lms-plugin", "pyproject.toml"), "rb") as pyproject:
            self.assertEqual(tomllib.load(pyproject)["project"]["name"], "openedx-lti-provider-companion")
        self.assertFalse([line for line in self.run_lines(files) if "exit 1" in line])

    def test_build_fails_loudly_without_a_source_for_the_companion(self):
        _config, files = config_and_files()
        failing = [line for line in self.run_lines(files) if "exit 1" in line]
        self.assertEqual(len(failing), 1)
        self.assertIn("LTI_PROVIDER_REPOSITORY", failing[0])

    def test_an_explicit_requirement_wins(self):
        _config, files = config_and_files(LTI_PROVIDER_COMPANION_REQUIREMENT="openedx-lti-provider-companion==0.1.0")
        self.assertIn("$PIP_COMMAND install 'openedx-lti-provider-companion==0.1.0'", " ".join(self.run_lines(files)))

    def test_kafka_client_only_for_the_kafka_bus(self):
        _config, files = config_and_files(LTI_PROVIDER_REPOSITORY=REPOSITORY)
        self.assertNotIn("confluent-kafka", files["build/openedx/Dockerfile"])
        _config, files = config_and_files(LTI_PROVIDER_REPOSITORY=REPOSITORY, LTI_PROVIDER_KAFKA_BOOTSTRAP_SERVERS="kafka:9092")
        self.assertIn("$PIP_COMMAND install 'confluent-kafka[avro,schema-registry]'", " ".join(self.run_lines(files)))
