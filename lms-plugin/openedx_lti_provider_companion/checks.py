"""System checks (``manage.py lms check``): configuration that silently loses score events."""
import itertools
from importlib import metadata

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


# edx-event-bus-kafka 6.x passes `headers` to confluent-kafka's SerializationContext, which only
# accepts them from 1.8.2 on: with an older client every event fails to serialize and is dropped
# with nothing but a log line, so the check speaks up before the first score is lost.
MIN_CONFLUENT_KAFKA = (1, 8, 2)


def _installed_version(distribution):
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _version_tuple(text):
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(itertools.takewhile(str.isdigit, piece))
        parts.append(int(digits or 0))
    return tuple(parts + [0] * (3 - len(parts)))


@checks.register()
def confluent_kafka_is_recent_enough(app_configs=None, **kwargs):  # pylint: disable=unused-argument
    if not conf.get("LTI_PROVIDER_REPUBLISH_SCORES"):
        return []
    installed = _installed_version("confluent-kafka")
    if installed is None or _version_tuple(installed) >= MIN_CONFLUENT_KAFKA:
        return []
    wanted = ".".join(map(str, MIN_CONFLUENT_KAFKA))
    return [
        checks.Warning(
            f"confluent-kafka {installed} is installed; the event bus producer needs {wanted} or later "
            "(SerializationContext headers): older versions drop every score event with only a log line.",
            hint=f'pip install "confluent-kafka[avro,schema-registry]>={wanted}"',
            id="openedx_lti_provider_companion.W002",
        )
    ]
