"""docker compose (tutor local / dev): the service, its job, Caddy's alias; valid YAML in place."""
import os
import unittest

import yaml

from tests.tutor_env import config_and_files

ENV_DIR = "plugins/lti_provider/apps/lti-provider"


def compose(files, name):
    return yaml.safe_load(files[name])["services"]


class ComposeTest(unittest.TestCase):
    def test_service_runs_the_image_with_both_env_files_and_a_health_check(self):
        config, files = config_and_files()
        service = compose(files, "local/docker-compose.yml")["lti-provider"]
        self.assertEqual(service["image"], config["LTI_PROVIDER_DOCKER_IMAGE"])
        self.assertEqual(service["image"], "openedx-lti-provider:0.1.0")
        self.assertEqual(service["restart"], "unless-stopped")
        # env_file paths are relative to env/local/ (the compose file); they must name rendered files.
        for path in service["env_file"]:
            self.assertIn(os.path.normpath(os.path.join("local", path)), files)
        self.assertEqual([os.path.basename(p) for p in service["env_file"]], ["config.env", "secrets.env"])
        self.assertIn("/ready/http", " ".join(service["healthcheck"]["test"]))
        self.assertNotIn("ports", service)  # only Caddy is exposed
        self.assertNotIn("environment", service)  # everything comes from the env files

    def test_service_waits_for_what_the_install_runs(self):
        _config, files = config_and_files()
        self.assertEqual(compose(files, "local/docker-compose.yml")["lti-provider"]["depends_on"], ["mysql", "redis"])
        _config, files = config_and_files(RUN_MYSQL=False, RUN_REDIS=False)
        self.assertEqual(compose(files, "local/docker-compose.yml")["lti-provider"]["depends_on"], [])
        _config, files = config_and_files(LTI_PROVIDER_KAFKA_BOOTSTRAP_SERVERS="kafka:9092")
        self.assertEqual(compose(files, "local/docker-compose.yml")["lti-provider"]["depends_on"], ["mysql"])

    def test_job_service_bypasses_the_cli_entrypoint(self):
        config, files = config_and_files()
        job = compose(files, "local/docker-compose.jobs.yml")["lti-provider-job"]
        self.assertEqual(job["image"], config["LTI_PROVIDER_DOCKER_IMAGE"])
        # Tutor runs `docker compose run lti-provider-job sh -e -c <task>`.
        self.assertEqual(job["entrypoint"], [])
        self.assertEqual(job["env_file"], compose(files, "local/docker-compose.yml")["lti-provider"]["env_file"])
        self.assertIn("mysql-job", compose(files, "local/docker-compose.jobs.yml"))

    def test_caddy_alias_lets_containers_reach_the_public_host_without_https(self):
        _config, files = config_and_files(ENABLE_HTTPS=False)
        caddy = compose(files, "local/docker-compose.prod.yml")["caddy"]
        self.assertEqual(caddy["networks"]["default"]["aliases"], ["learn.example.org", "lti.learn.example.org"])
        _config, files = config_and_files()
        self.assertNotIn("networks", compose(files, "local/docker-compose.prod.yml")["caddy"])
