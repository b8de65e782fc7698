"""
Production settings: take our values from the LMS YAML (ENV_TOKENS) when present, then fill
defaults and the event-bus route as in common settings.
"""
from ..conf import DEFAULTS
from .common import plugin_settings as common_plugin_settings


def plugin_settings(settings):
    env_tokens = getattr(settings, "ENV_TOKENS", None) or {}
    for name in DEFAULTS:
        if name in env_tokens:
            setattr(settings, name, env_tokens[name])
    common_plugin_settings(settings)
