"""
Everything openedx-events, opaque-keys and edx-platform sits behind openedx_imports.py, and the
stand-in used by these tests offers the same names and signatures.
"""
import ast
import inspect
import os
import subprocess
import sys
import tomllib

from django.test import SimpleTestCase

from . import openedx_stand_ins

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PACKAGE = os.path.join(ROOT, "openedx_lti_provider_companion")
THIN = os.path.join(PACKAGE, "openedx_imports.py")
OPEN_EDX_ROOTS = {"openedx_events", "opaque_keys", "lms", "openedx", "common", "xmodule", "edx_django_utils", "edx_event_bus_kafka"}


def imported_roots(path):
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def thin_module_api():
    """Names the real thin module exports: re-exported imports and its functions, with parameters."""
    with open(THIN, encoding="utf-8") as f:
        tree = ast.parse(f.read(), THIN)
    api = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            api.update({alias.asname or alias.name: None for alias in node.names})
        elif isinstance(node, ast.FunctionDef):
            api[node.name] = [a.arg for a in node.args.args]
    return api


class ThinImport(SimpleTestCase):
    def test_no_other_module_imports_open_edx_code(self):
        offenders = {}
        for directory, _, files in os.walk(PACKAGE):
            for name in files:
                path = os.path.join(directory, name)
                if name.endswith(".py") and path != THIN:
                    found = imported_roots(path) & OPEN_EDX_ROOTS
                    if found:
                        offenders[os.path.relpath(path, ROOT)] = sorted(found)
        self.assertEqual(offenders, {})

    def test_the_thin_module_does_import_them(self):
        self.assertEqual(imported_roots(THIN) & OPEN_EDX_ROOTS, {"openedx_events", "opaque_keys", "lms", "openedx"})

    def test_the_stand_in_offers_the_same_api(self):
        api = thin_module_api()
        self.assertEqual(
            sorted(api),
            sorted(["InvalidKeyError", "CourseKey", "UsageKey", "OpenEdxPublicSignal", "problem_weighted_score_changed_signal",
                    "mark_user_change_as_expected", "set_logged_in_cookies"]),
        )
        for name, params in api.items():
            with self.subTest(name=name):
                self.assertTrue(hasattr(openedx_stand_ins, name))
                if params is not None:
                    self.assertEqual(list(inspect.signature(getattr(openedx_stand_ins, name)).parameters), params)

    def test_the_plugin_entry_point_loads_before_settings_exist(self):
        # edx-django-utils imports the AppConfig while the LMS settings module is still executing,
        # so importing it must not touch settings, openedx-events or the event definition.
        with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
            entry_points = tomllib.load(f)["project"]["entry-points"]["lms.djangoapp"]
        self.assertEqual(entry_points, {"openedx_lti_provider_companion": "openedx_lti_provider_companion.apps:LtiProviderCompanionConfig"})
        module, _, attribute = entry_points["openedx_lti_provider_companion"].partition(":")
        script = (
            "import importlib, sys\n"
            f"config = getattr(importlib.import_module({module!r}), {attribute!r})\n"
            "from django.conf import settings\n"
            "assert not settings.configured\n"
            "assert 'openedx_lti_provider_companion.signals' not in sys.modules\n"
            "assert config.plugin_app['url_config']['lms.djangoapp']['regex'] == '^lti-provider/'\n"
            "print('ok')\n"
        )
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        self.assertEqual((result.returncode, result.stdout.strip()), (0, "ok"), result.stderr)
