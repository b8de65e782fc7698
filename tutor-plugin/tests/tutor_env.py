"""
Loads the plugin and renders it the way Tutor 21 does, without Tutor installed.

What is mimicked, and from where in Tutor's source (tutor 21.0.8):
- the plugin module is imported against tests/stand_in/tutor (hooks recorded as Tutor applies them);
- config (tutor/config.py load_full): user config, then base (core base + CONFIG_UNIQUE), then
  defaults (core defaults + CONFIG_DEFAULTS), merged without overwriting, then ONE rendering pass
  in that order (render_full), so a default that refers to a later templated key would show up here
  exactly as it would in Tutor;
- templates (tutor/env.py JinjaEnvironment/Renderer): jinja2 with StrictUndefined and Tutor's
  defaults otherwise, ``from_string`` rendering, the ``list_if`` and ``random_string`` filters with
  Tutor's definitions (tutor/utils.py), and ``patch(name, separator, suffix)``;
- patches are placed into small copies of the lines of Tutor's own templates that include them
  (fixtures/tutor-hosts/*), with the same indentation, so YAML and Python are checked in place.
"""
from __future__ import annotations

import importlib
import json
import os
import secrets
import string
import sys
import typing as t
from copy import deepcopy

import jinja2
import yaml

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
PLUGIN_DIR = os.path.dirname(TESTS_DIR)
REPO_DIR = os.path.dirname(PLUGIN_DIR)
FIXTURES = os.path.join(TESTS_DIR, "fixtures")
HOSTS = os.path.join(FIXTURES, "tutor-hosts")


def load_plugin():
    """Import the plugin once against the stand-in Tutor; return (plugin module, hooks module)."""
    for path in (os.path.join(TESTS_DIR, "stand_in"), PLUGIN_DIR):
        if path not in sys.path:
            sys.path.insert(0, path)
    hooks = importlib.import_module("tutor.hooks")
    plugin = importlib.import_module("tutorlti_provider.plugin")
    return plugin, hooks


def random_string(length: int) -> str:
    return "".join([secrets.choice(string.ascii_letters + string.digits) for _ in range(length)])


def list_if(services: list[tuple[str, bool]]) -> str:
    return json.dumps([service[0] for service in services if service[1]])


class Renderer:
    def __init__(self, config: dict[str, t.Any]):
        _plugin, hooks = load_plugin()
        self.config = config
        self.environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
        self.environment.filters["list_if"] = list_if
        self.environment.filters["random_string"] = random_string
        self.environment.globals["patch"] = self.patch
        self.patches: dict[str, list[str]] = {}
        for name, content in hooks.Filters.ENV_PATCHES.iterate():
            self.patches.setdefault(name, []).append(content)

    def render_str(self, text: str) -> str:
        return self.environment.from_string(text).render(**self.config)

    def patch(self, name: str, separator: str = "\n", suffix: str = "") -> str:
        rendered = separator.join(self.render_str(p) for p in self.patches.get(name, []))
        return rendered + suffix if rendered else rendered

    def template(self, *parts: str) -> str:
        """A plugin template, by its path under templates/lti_provider/."""
        path = os.path.join(PLUGIN_DIR, "tutorlti_provider", "templates", "lti_provider", *parts)
        with open(path, encoding="utf-8") as template:
            return self.render_str(template.read())

    def host(self, name: str) -> str:
        """A Tutor host template from fixtures/tutor-hosts, with our patches in place."""
        with open(os.path.join(HOSTS, name), encoding="utf-8") as host:
            return self.render_str(host.read())


def render_value(config: dict[str, t.Any], value: t.Any) -> t.Any:
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    environment.filters["random_string"] = random_string
    if isinstance(value, str):
        return environment.from_string(value).render(**config)
    if isinstance(value, dict):
        return {k: render_value(config, v) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(config, v) for v in value]
    return value


def load_config(**user: t.Any) -> dict[str, t.Any]:
    """The full config of a project whose config.yml holds the fixture plus ``user``."""
    _plugin, hooks = load_plugin()
    with open(os.path.join(FIXTURES, "tutor-config.yml"), encoding="utf-8") as fixture:
        config = yaml.safe_load(fixture)
    config.update(deepcopy(user))
    for name, value in hooks.Filters.CONFIG_UNIQUE.iterate():
        config.setdefault(name, value)
    for name, value in hooks.Filters.CONFIG_DEFAULTS.iterate():
        config.setdefault(name, deepcopy(value))
    for key, value in config.items():
        config[key] = render_value(config, value)
    return config


def config_and_files(**user: t.Any) -> tuple[dict[str, t.Any], dict[str, str]]:
    config = load_config(**user)
    renderer = Renderer(config)
    return config, {name: text for name, text in _render_with(renderer).items()}


def _render_with(renderer: Renderer) -> dict[str, str]:
    files = {}
    for name, host in HOST_FILES.items():
        files[name] = renderer.host(host)
    for name, parts in TEMPLATE_FILES.items():
        files[name] = renderer.template(*parts)
    return files


HOST_FILES = {
    "local/docker-compose.yml": "local-docker-compose.yml",
    "local/docker-compose.jobs.yml": "local-docker-compose.jobs.yml",
    "local/docker-compose.prod.yml": "local-docker-compose.prod.yml",
    "k8s/deployments.yml": "k8s-deployments.yml",
    "k8s/services.yml": "k8s-services.yml",
    "k8s/jobs.yml": "k8s-jobs.yml",
    "kustomization.yml": "kustomization.yml",
    "apps/caddy/Caddyfile": "Caddyfile",
    "apps/openedx/config/lms.env.yml": "lms.env.yml",
    "apps/openedx/settings/lms/production.py": "lms-production.py",
    "apps/openedx/settings/lms/development.py": "lms-development.py",
    "build/openedx/Dockerfile": "openedx-Dockerfile",
}
TEMPLATE_FILES = {
    "plugins/lti_provider/apps/lti-provider/config.env": ("apps", "lti-provider", "config.env"),
    "plugins/lti_provider/apps/lti-provider/secrets.env": ("apps", "lti-provider", "secrets.env"),
    "plugins/lti_provider/build/lti-provider/Dockerfile": ("build", "lti-provider", "Dockerfile"),
    "init/mysql": ("tasks", "mysql", "init"),
    "init/lms": ("tasks", "lms", "init"),
    "init/lti-provider": ("tasks", "lti-provider", "init"),
}
