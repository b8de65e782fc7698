"""The LMS URLconf in miniature: the plugin's URLs mounted as edx-django-utils mounts them."""
from django.urls import include, re_path

from openedx_lti_provider_companion.apps import LtiProviderCompanionConfig

_config = LtiProviderCompanionConfig.plugin_app["url_config"]["lms.djangoapp"]

# edx_django_utils.plugins.plugin_urls.get_url: url(regex, include((module, app_name), namespace=...)).
urlpatterns = [
    re_path(
        _config["regex"],
        include(
            ("openedx_lti_provider_companion." + _config["relative_path"], LtiProviderCompanionConfig.name),
            namespace=_config["namespace"],
        ),
    ),
]
