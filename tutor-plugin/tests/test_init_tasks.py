"""Init tasks: valid POSIX sh (bash -n, shellcheck), idempotent statements, the LMS commands."""
import re
import shutil
import subprocess
import tempfile
import unittest

from tests.tutor_env import config_and_files

TASKS = ("init/mysql", "init/lms", "init/lti-provider")
USERS = ({}, {"LTI_PROVIDER_SESSION_HANDOFF": "token"}, {"ENABLE_HTTPS": False, "LTI_PROVIDER_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"})


def shell_c_blocks(script):
    """The Python programs passed to `./manage.py lms shell -c "..."`."""
    return re.findall(r'shell -c "\n(.*?)\n"', script, re.DOTALL)


class InitTasksTest(unittest.TestCase):
    def scripts(self):
        for user in USERS:
            _config, files = config_and_files(**user)
            for task in TASKS:
                yield task, user, files[task]

    def test_bash_accepts_them(self):
        for task, user, script in self.scripts():
            result = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True, check=False)
            self.assertEqual(result.returncode, 0, f"{task} {user}: {result.stderr}")

    def test_shellcheck_finds_nothing(self):
        shellcheck = shutil.which("shellcheck")
        self.assertIsNotNone(shellcheck, "shellcheck is needed (Debian package shellcheck)")
        for task, user, script in self.scripts():
            # Tutor runs each task as `sh -e -c <script>`.
            with tempfile.NamedTemporaryFile("w", suffix=".sh") as file:
                file.write(script)
                file.flush()
                result = subprocess.run([shellcheck, "--shell=sh", "--severity=style", file.name], capture_output=True, text=True, check=False)
            self.assertEqual(result.returncode, 0, f"{task} {user}:\n{result.stdout}")

    def test_mysql_task_creates_database_and_user_idempotently(self):
        config, files = config_and_files()
        script = files["init/mysql"]
        self.assertIn("CREATE DATABASE IF NOT EXISTS lti_provider CHARACTER SET utf8mb4", script)
        self.assertIn("CREATE USER IF NOT EXISTS 'lti_provider'@'%'", script)
        self.assertIn(f"ALTER USER 'lti_provider'@'%' IDENTIFIED BY '{config['LTI_PROVIDER_MYSQL_PASSWORD']}'", script)
        self.assertIn("GRANT ALL ON lti_provider.* TO 'lti_provider'@'%'", script)
        self.assertIn('--host="mysql" --port="3306"', script)

    def test_service_task_runs_the_migrations(self):
        _config, files = config_and_files()
        commands = [line for line in files["init/lti-provider"].splitlines() if line and not line.startswith("#")]
        # The image's WORKDIR is /app and its entrypoint (replaced for jobs) is this same CLI.
        self.assertEqual(commands, ["node dist/src/cli/main.js migrate"])

    def test_lms_task_creates_a_staff_user_and_a_client_credentials_application(self):
        config, files = config_and_files()
        script = files["init/lms"].replace("\\\n", " ")
        self.assertRegex(script, r'manage_user --staff --unusable-password\s+"lti-provider" "lti-provider@openedx"')
        dot = [line for line in script.splitlines() if "create_dot_application" in line][0]
        self.assertIn("--grant-type client-credentials", dot)
        self.assertIn('--client-id "lti-provider"', dot)
        self.assertIn(f'--client-secret "{config["LTI_PROVIDER_LMS_CLIENT_SECRET"]}"', dot)
        self.assertIn("--update", dot)
        self.assertTrue(dot.rstrip().endswith('lti-provider "lti-provider"'))
        self.assertNotIn("--superuser", script)

    def test_relay_creates_the_lti_consumer_and_token_does_not(self):
        config, files = config_and_files()
        blocks = shell_c_blocks(files["init/lms"])
        self.assertEqual(len(blocks), 2)
        for block in blocks:
            compile(block, "shell -c", "exec")
            self.assertNotIn('"', block)  # inside sh double quotes
            self.assertNotIn("$", block)
            self.assertNotIn("`", block)
        consumer = blocks[1]
        self.assertIn("LtiConsumer.objects.update_or_create(consumer_key='lti-provider-relay'", consumer)
        self.assertIn(f"'consumer_secret': '{config['LTI_PROVIDER_RELAY_CONSUMER_SECRET']}'", consumer)
        self.assertIn("defaults['use_lti_pii'] = True", consumer)
        _config, files = config_and_files(LTI_PROVIDER_SESSION_HANDOFF="token")
        self.assertNotIn("LtiConsumer", files["init/lms"])
        self.assertEqual(len(shell_c_blocks(files["init/lms"])), 1)

    def test_lti_consumer_program_runs_against_models_of_both_ages(self):
        _config, files = config_and_files()
        program = shell_c_blocks(files["init/lms"])[1]
        for has_pii_field in (True, False):
            calls, printed = [], []
            models = _lti_provider_models(has_pii_field, calls)
            namespace = {"print": printed.append}
            exec(compile(program.replace("from lms.djangoapps.lti_provider.models import LtiConsumer", ""), "shell -c", "exec"), {**namespace, "LtiConsumer": models})  # pylint: disable=exec-used
            self.assertEqual(calls[0][0], "lti-provider-relay")
            self.assertEqual(calls[0][1].get("use_lti_pii"), True if has_pii_field else None)
            self.assertEqual(any("use_lti_pii" in line for line in printed), not has_pii_field)


def _lti_provider_models(has_pii_field, calls):
    """The LMS model's surface the program uses: _meta.get_fields() and objects.update_or_create."""

    class Field:  # pylint: disable=too-few-public-methods
        def __init__(self, name):
            self.name = name

    class Meta:  # pylint: disable=too-few-public-methods
        @staticmethod
        def get_fields():
            names = ["id", "consumer_name", "consumer_key", "consumer_secret", "instance_guid"]
            return [Field(n) for n in names + (["use_lti_pii"] if has_pii_field else [])]

    class Manager:  # pylint: disable=too-few-public-methods
        @staticmethod
        def update_or_create(consumer_key, defaults):
            calls.append((consumer_key, defaults))
            return object(), True

    class LtiConsumer:  # pylint: disable=too-few-public-methods
        _meta = Meta()
        objects = Manager()

    return LtiConsumer
