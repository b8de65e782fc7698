"""System checks (``manage.py lms check``): configuration that silently loses score events."""
from django.conf import settings
from django.core import checks

from . import conf


@checks.register()
def score_event_is_routed(app_configs=None, **kwargs):  # pylint: disable=unused-argument
    if not conf.get("LTI_PROVIDER_REPUBLISH_SCORES"):
        return []
    event_type = conf.get("LTI_PROVIDER_SCORE_EVENT_TYPE")
    routes = (getattr(settings, "EVENT_BUS_PRODUCER_CONFIG", None) or {}).get(event_type) or {}
    if any(route.get("enabled") for route in routes.values() if isinstance(route, dict)):
        return []
    return [
        checks.Warning(
            f"EVENT_BUS_PRODUCER_CONFIG has no enabled topic for {event_type}: score changes are "
            "republished as an Open edX event but never reach the event bus.",
            hint=f"Add {{'{event_type}': {conf.producer_route(conf.get('LTI_PROVIDER_SCORE_TOPIC'))!r}}}.",
            id="openedx_lti_provider_companion.W001",
        )
    ]
