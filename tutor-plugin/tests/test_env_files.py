"""The service's environment: KEY=VALUE files that docker compose and kustomize both read, with
names the service knows, and the event bus chosen from what the install has."""
import os
import re
import unittest

from tests.tutor_env import REPO_DIR, config_and_files

CONFIG_ENV = "plugins/lti_provider/apps/lti-provider/config.env"
SECRETS_ENV = "plugins/lti_provider/apps/lti-provider/secrets.env"
# In the service's environment contract (docs/architecture.md) but read by src/config.ts only once
# the work of issue 14 (DATABASE_* by parts) and issue 18 (the Redis event bus) is merged.
CONTRACT_NAMES_NOT_YET_IN_CONFIG_TS = set()  # every name the plugin writes is read by src/config.ts


def parse_env(text):
    """KEY=VALUE lines as both docker compose's env_file and kustomize's envs read them alike:
    no quotes, no spaces, no expansions, no duplicates."""
    values = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Z][A-Z0-9_]*)=([^\s'\"$`\\]*)", line)
        if not match:
            raise AssertionError(f"not a plain KEY=VALUE line: {line!r}")
        if match.group(1) in values:
            raise AssertionError(f"{match.group(1)} twice")
        values[match.group(1)] = match.group(2)
    return values


def service_config_names():
    with open(os.path.join(REPO_DIR, "src", "config.ts"), encoding="utf-8") as config_ts:
        source = config_ts.read()
    schema = source[source.index("export const ConfigSchema"):source.index("export type Config")]
    return set(re.findall(r"^  ([A-Z][A-Z0-9_]*):", schema, re.MULTILINE))


class EnvFilesTest(unittest.TestCase):
    def envs(self, **user):
        config, files = config_and_files(**user)
        return config, parse_env(files[CONFIG_ENV]), parse_env(files[SECRETS_ENV])

    def test_every_name_is_one_the_service_reads(self):
        known = service_config_names() | CONTRACT_NAMES_NOT_YET_IN_CONFIG_TS
        self.assertIn("PUBLIC_URL", known)
        for user in ({}, {"LTI_PROVIDER_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092", "LTI_PROVIDER_KAFKA_SCHEMA_REGISTRY_URL": "http://schema-registry:8081"}, {"LTI_PROVIDER_SESSION_HANDOFF": "token"}):
            _config, config_env, secrets_env = self.envs(**user)
            self.assertFalse(set(config_env) & set(secrets_env))
            unknown = (set(config_env) | set(secrets_env)) - known
            self.assertFalse(unknown, f"the service reads no {sorted(unknown)}")

    def test_defaults_describe_a_tutor_install(self):
        config, env, secrets = self.envs()
        self.assertEqual(env["NODE_ENV"], "production")
        self.assertEqual(env["HOST"], "0.0.0.0")
        self.assertEqual(env["PORT"], "3000")
        self.assertEqual(env["DATABASE_HOST"], "mysql")
        self.assertEqual(env["DATABASE_PORT"], "3306")
        self.assertEqual(env["DATABASE_NAME"], "lti_provider")
        self.assertEqual(env["DATABASE_USER"], "lti_provider")
        self.assertEqual(env["DATABASE_MIGRATE_ON_START"], "false")
        self.assertEqual(env["LMS_CLIENT_ID"], "lti-provider")
        self.assertEqual(env["LMS_SESSION_HANDOFF"], "relay")
        self.assertEqual(env["LMS_RELAY_CONSUMER_KEY"], "lti-provider-relay")
        self.assertEqual(secrets["SECRET_KEY"], config["LTI_PROVIDER_SECRET_KEY"])
        self.assertEqual(secrets["DATABASE_PASSWORD"], config["LTI_PROVIDER_MYSQL_PASSWORD"])
        self.assertEqual(secrets["LMS_CLIENT_SECRET"], config["LTI_PROVIDER_LMS_CLIENT_SECRET"])
        self.assertEqual(secrets["LMS_RELAY_CONSUMER_SECRET"], config["LTI_PROVIDER_RELAY_CONSUMER_SECRET"])
        # The service refuses a SECRET_KEY or ADMIN_TOKEN under 32 characters.
        self.assertGreaterEqual(len(secrets["SECRET_KEY"]), 32)
        self.assertGreaterEqual(len(secrets["ADMIN_TOKEN"]), 32)

    def test_redis_bus_by_default_reading_the_stream_the_lms_writes(self):
        _config, env, secrets = self.envs()
        self.assertEqual(env["EVENT_BUS_BACKEND"], "redis")
        # Tutor's LMS: EVENT_BUS_REDIS_CONNECTION_URL = 'redis://@redis:6379/', prefix 'dev'.
        self.assertEqual(secrets["REDIS_URL"], "redis://redis:6379/0")
        self.assertEqual(env["EVENT_BUS_TOPIC_PREFIX"], "dev")
        self.assertEqual(env["REDIS_CONSUMER_GROUP"], "lti-provider")
        self.assertNotIn("KAFKA_BROKERS", env)

    def test_kafka_bus_when_the_operator_names_brokers(self):
        _config, env, secrets = self.envs(
            LTI_PROVIDER_KAFKA_BOOTSTRAP_SERVERS="kafka-1:9092,kafka-2:9092",
            LTI_PROVIDER_KAFKA_SCHEMA_REGISTRY_URL="http://schema-registry:8081",
            LTI_PROVIDER_EVENT_BUS_TOPIC_PREFIX="prod",
        )
        self.assertEqual(env["EVENT_BUS_BACKEND"], "kafka")
        self.assertEqual(env["KAFKA_BROKERS"], "kafka-1:9092,kafka-2:9092")
        self.assertEqual(env["SCHEMA_REGISTRY_URL"], "http://schema-registry:8081")
        self.assertEqual(env["KAFKA_GROUP_ID"], "lti-provider")
        self.assertEqual(env["EVENT_BUS_TOPIC_PREFIX"], "prod")
        self.assertNotIn("REDIS_URL", secrets)
        self.assertNotIn("REDIS_CONSUMER_GROUP", env)

    def test_token_handoff_needs_no_relay_consumer(self):
        _config, env, secrets = self.envs(LTI_PROVIDER_SESSION_HANDOFF="token")
        self.assertEqual(env["LMS_SESSION_HANDOFF"], "token")
        self.assertNotIn("LMS_RELAY_CONSUMER_KEY", env)
        self.assertNotIn("LMS_RELAY_CONSUMER_SECRET", secrets)

    def test_extra_variables_go_to_the_file_they_are_declared_for(self):
        _config, env, secrets = self.envs(
            LTI_PROVIDER_KAFKA_BOOTSTRAP_SERVERS="kafka:9093",
            LTI_PROVIDER_EXTRA_ENV={"KAFKA_SSL": True, "RATE_LIMIT_ENABLED": False, "LTI_AGGREGATE_SCORE_PASSBACK_DELAY": 600, "KAFKA_SASL_MECHANISM": "scram-sha-512", "KAFKA_SASL_USERNAME": "lti"},
            LTI_PROVIDER_EXTRA_SECRET_ENV={"KAFKA_SASL_PASSWORD": "s3cretSasl"},
        )
        # YAML booleans and numbers (what `tutor config save --set` parses) in the service's spelling.
        self.assertEqual(env["KAFKA_SSL"], "true")
        self.assertEqual(env["RATE_LIMIT_ENABLED"], "false")
        self.assertEqual(env["LTI_AGGREGATE_SCORE_PASSBACK_DELAY"], "600")
        self.assertEqual(env["KAFKA_SASL_USERNAME"], "lti")
        self.assertEqual(secrets["KAFKA_SASL_PASSWORD"], "s3cretSasl")
        self.assertNotIn("KAFKA_SASL_PASSWORD", env)

    def test_unique_secrets_are_generated_once_per_project(self):
        first, _env, _secrets = self.envs()
        second, _env, _secrets = self.envs()
        self.assertNotEqual(first["LTI_PROVIDER_SECRET_KEY"], second["LTI_PROVIDER_SECRET_KEY"])
        # Once config.yml holds them (what `tutor config save` writes), they stay.
        saved = {name: first[name] for name in first if name.startswith("LTI_PROVIDER_") and name.endswith(("SECRET_KEY", "TOKEN", "PASSWORD", "SECRET"))}
        again, _env, secrets = self.envs(**saved)
        self.assertEqual(secrets["SECRET_KEY"], first["LTI_PROVIDER_SECRET_KEY"])
        self.assertEqual(again["LTI_PROVIDER_ADMIN_TOKEN"], first["LTI_PROVIDER_ADMIN_TOKEN"])
