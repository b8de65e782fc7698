"""Mounted by edx-django-utils under ``^lti-provider/`` (apps.plugin_app): /lti-provider/login."""
from django.urls import re_path

from .views import token_login

app_name = "openedx_lti_provider_companion"

urlpatterns = [
    # With and without the slash: APPEND_SLASH would redirect a POST and lose its body.
    re_path(r"^login/?$", token_login, name="token_login"),
]
