"""Each secret appears in the rendered files that need it and nowhere else."""
import unittest

from tests.tutor_env import config_and_files

SECRETS_ENV = "plugins/lti_provider/apps/lti-provider/secrets.env"
WHERE = {
    "LTI_PROVIDER_SECRET_KEY": {SECRETS_ENV},
    "LTI_PROVIDER_ADMIN_TOKEN": {SECRETS_ENV},
    "LTI_PROVIDER_MYSQL_PASSWORD": {SECRETS_ENV, "init/mysql"},
    "LTI_PROVIDER_LMS_CLIENT_SECRET": {SECRETS_ENV, "init/lms"},
    "LTI_PROVIDER_RELAY_CONSUMER_SECRET": {SECRETS_ENV, "init/lms"},
    # Tutor's own: the plugin's MySQL task uses it, nothing of ours may carry it further.
    "MYSQL_ROOT_PASSWORD": {"init/mysql"},
}


class SecretsTest(unittest.TestCase):
    def check(self, **user):
        config, files = config_and_files(**user)
        for name, expected in WHERE.items():
            value = config[name]
            self.assertGreaterEqual(len(value), 8, name)
            found = {path for path, text in files.items() if value in text}
            # Tutor's root password is in Tutor's own files too; only ours are rendered here.
            self.assertEqual(found, expected, name)

    def test_relay_with_redis(self):
        self.check(LTI_PROVIDER_REPOSITORY="https://git.example.org/openedx-lti-provider.git")

    def test_kafka(self):
        self.check(LTI_PROVIDER_KAFKA_BOOTSTRAP_SERVERS="kafka:9092", ENABLE_HTTPS=False)

    def test_token_handoff_has_no_relay_secret_anywhere(self):
        config, files = config_and_files(LTI_PROVIDER_SESSION_HANDOFF="token")
        value = config["LTI_PROVIDER_RELAY_CONSUMER_SECRET"]
        self.assertEqual([path for path, text in files.items() if value in text], [])
