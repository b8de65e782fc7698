"""
Django app configuration and edx-django-utils plugin declaration.

edx-django-utils imports this module while the LMS settings are still being built (to list plugin
apps in INSTALLED_APPS), so nothing here may touch settings, openedx-events or edx-platform at
import time.
"""
from django.apps import AppConfig


class LtiProviderCompanionConfig(AppConfig):
    name = "openedx_lti_provider_companion"
    label = "openedx_lti_provider_companion"
    verbose_name = "LTI provider companion"
    default_auto_field = "django.db.models.BigAutoField"

    # String keys instead of edx_django_utils.plugins constants, so this module imports nothing
    # from the LMS (the values are those constants').
    plugin_app = {
        "url_config": {
            "lms.djangoapp": {
                "namespace": "lti_provider_companion",
                "regex": r"^lti-provider/",
                "relative_path": "urls",
            },
        },
        "settings_config": {
            "lms.djangoapp": {
                "common": {"relative_path": "settings.common"},
                "production": {"relative_path": "settings.production"},
            },
        },
    }

    def import_models(self):
        super().import_models()
        # Django imports every app's models before it calls any ready(). Our Open edX event must
        # exist before openedx-events' ready() validates EVENT_BUS_PRODUCER_CONFIG, and settings
        # (the event type) are readable by now, unlike when this module was imported.
        from . import signals  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import

    def ready(self):
        from . import checks, conf, republisher  # noqa: F401  pylint: disable=import-outside-toplevel

        if conf.get("LTI_PROVIDER_REPUBLISH_SCORES"):
            republisher.connect()
