"""What the plugin registers with Tutor: config keys, init tasks, images, patches, template targets."""
import json
import os
import re
import unittest

from tests.tutor_env import FIXTURES, PLUGIN_DIR, REPO_DIR, load_plugin


def known_patch_names():
    with open(os.path.join(FIXTURES, "tutor-patches.txt"), encoding="utf-8") as names:
        return {line.strip() for line in names if line.strip() and not line.startswith("#")}


class PluginHooksTest(unittest.TestCase):
    def setUp(self):
        self.plugin, self.hooks = load_plugin()

    def test_config_keys_are_prefixed_and_unique_ones_are_secrets(self):
        defaults = dict(self.hooks.Filters.CONFIG_DEFAULTS.iterate())
        unique = dict(self.hooks.Filters.CONFIG_UNIQUE.iterate())
        for name in list(defaults) + list(unique):
            self.assertRegex(name, r"^LTI_PROVIDER_[A-Z0-9_]+$")
        self.assertFalse(set(defaults) & set(unique))
        self.assertEqual(
            set(unique),
            {
                "LTI_PROVIDER_SECRET_KEY",
                "LTI_PROVIDER_ADMIN_TOKEN",
                "LTI_PROVIDER_MYSQL_PASSWORD",
                "LTI_PROVIDER_LMS_CLIENT_SECRET",
                "LTI_PROVIDER_RELAY_CONSUMER_SECRET",
            },
        )
        for name in ("LTI_PROVIDER_HOST", "LTI_PROVIDER_DOCKER_IMAGE", "LTI_PROVIDER_EVENT_BUS"):
            self.assertIn(name, defaults)
        self.assertEqual(defaults["LTI_PROVIDER_HOST"], "lti.{{ LMS_HOST }}")

    def test_version_is_the_services_and_tags_the_image(self):
        with open(os.path.join(REPO_DIR, "package.json"), encoding="utf-8") as package:
            service_version = json.load(package)["version"]
        defaults = dict(self.hooks.Filters.CONFIG_DEFAULTS.iterate())
        self.assertEqual(defaults["LTI_PROVIDER_VERSION"], service_version)
        self.assertTrue(defaults["LTI_PROVIDER_DOCKER_IMAGE"].endswith(":{{ LTI_PROVIDER_VERSION }}"))

    def test_init_tasks_run_in_mysql_then_lms_then_the_service(self):
        tasks = list(self.hooks.Filters.CLI_DO_INIT_TASKS.iterate())
        self.assertEqual([service for service, _ in tasks], ["mysql", "lms", "lti-provider"])
        for _service, script in tasks:
            self.assertTrue(script.strip())

    def test_image_is_built_from_the_rendered_build_folder(self):
        builds = list(self.hooks.Filters.IMAGES_BUILD.iterate())
        self.assertEqual(len(builds), 1)
        name, path, tag, options = builds[0]
        self.assertEqual(name, "lti-provider")
        self.assertEqual(tag, "{{ LTI_PROVIDER_DOCKER_IMAGE }}")
        self.assertEqual(options, ())
        # ENV_TEMPLATE_TARGETS ("lti_provider/build", "plugins") renders templates/lti_provider/build/*
        # to env/plugins/lti_provider/build/*.
        self.assertIn(("lti_provider/build", "plugins"), list(self.hooks.Filters.ENV_TEMPLATE_TARGETS.iterate()))
        self.assertEqual(path[:2], ("plugins", "lti_provider"))
        source = os.path.join(PLUGIN_DIR, "tutorlti_provider", "templates", "lti_provider", *path[2:], "Dockerfile")
        self.assertTrue(os.path.exists(source), source)
        self.assertIn(("lti-provider", "{{ LTI_PROVIDER_DOCKER_IMAGE }}"), list(self.hooks.Filters.IMAGES_PULL.iterate()))
        self.assertIn(("lti-provider", "{{ LTI_PROVIDER_DOCKER_IMAGE }}"), list(self.hooks.Filters.IMAGES_PUSH.iterate()))

    def test_launch_builds_the_service_and_the_lms_image(self):
        self.assertEqual(self.hooks.Filters.IMAGES_BUILD_REQUIRED.apply([], "local"), ["lti-provider", "openedx"])
        self.assertEqual(self.hooks.Filters.IMAGES_BUILD_REQUIRED.apply(["openedx"], "local"), ["openedx", "lti-provider"])
        self.assertEqual(self.hooks.Filters.IMAGES_BUILD_REQUIRED.apply([], "dev"), ["lti-provider"])

    def test_public_host_is_listed_for_local(self):
        self.assertEqual(self.hooks.Filters.APP_PUBLIC_HOSTS.apply([], "local"), ["{{ LTI_PROVIDER_HOST }}"])
        self.assertEqual(self.hooks.Filters.APP_PUBLIC_HOSTS.apply([], "dev"), [])

    def test_every_patch_is_one_tutor_renders(self):
        names = [name for name, _ in self.hooks.Filters.ENV_PATCHES.iterate()]
        self.assertEqual(len(names), len(set(names)))
        unknown = set(names) - known_patch_names()
        self.assertFalse(unknown, f"Tutor 21 has no such patch: {sorted(unknown)}")
        for required in (
            "local-docker-compose-services", "local-docker-compose-jobs-services", "k8s-deployments",
            "k8s-services", "k8s-jobs", "caddyfile", "openedx-lms-common-settings",
            "openedx-lms-production-settings", "openedx-lms-development-settings", "lms-env-features",
            "openedx-dockerfile-post-python-requirements",
        ):
            self.assertIn(required, names)

    def test_settings_patches_that_merge_routes_come_last(self):
        callbacks = self.hooks.Filters.ENV_PATCHES.callbacks
        late = {"openedx-lms-production-settings", "openedx-lms-development-settings"}
        for priority, _order, func in callbacks:
            (name, _content), = func([])
            self.assertEqual(priority, 50 if name in late else 10, name)

    def test_templates_folder_is_a_template_root(self):
        roots = list(self.hooks.Filters.ENV_TEMPLATE_ROOTS.iterate())
        self.assertEqual(roots, [os.path.join(PLUGIN_DIR, "tutorlti_provider", "templates")])

    def test_entry_point_names_the_plugin_module(self):
        with open(os.path.join(PLUGIN_DIR, "pyproject.toml"), encoding="utf-8") as pyproject:
            text = pyproject.read()
        self.assertIn('name = "tutor-contrib-lti-provider"', text)
        self.assertRegex(text, r'\[project\.entry-points\."tutor\.plugin\.v1"\]\s*\nlti_provider = "tutorlti_provider\.plugin"')
        self.assertTrue(re.search(r'"patches/\*"', text) and re.search(r'"templates/', text))
