"""Plugin settings, applied by edx-django-utils to the LMS settings module (see apps.plugin_app)."""
