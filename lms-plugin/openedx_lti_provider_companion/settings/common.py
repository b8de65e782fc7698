"""
Defaults applied at the end of the LMS's common settings.

Besides our own defaults this adds the event-bus route for the score event, so an operator only
needs the producer's connection settings. A route the operator wrote for our event type is never
touched.
"""
from ..conf import DEFAULTS, producer_route

# The route we added ourselves, as (event type, route). Production settings run again after the
# YAML is applied; if the operator renamed the event type or topic there, our earlier route must go:
# openedx-events refuses, at startup, a route for an event type no signal defines.
AUTO_ROUTE_MARKER = "LTI_PROVIDER_AUTO_ROUTE"


def plugin_settings(settings):
    for name, value in DEFAULTS.items():
        if getattr(settings, name, None) is None:
            setattr(settings, name, value)
    route_score_event(settings)


def route_score_event(settings):
    config = dict(getattr(settings, "EVENT_BUS_PRODUCER_CONFIG", None) or {})
    event_type = settings.LTI_PROVIDER_SCORE_EVENT_TYPE
    wanted = producer_route(settings.LTI_PROVIDER_SCORE_TOPIC)
    previous = getattr(settings, AUTO_ROUTE_MARKER, None)
    if previous and previous != (event_type, wanted) and config.get(previous[0]) == previous[1]:
        del config[previous[0]]
    if event_type not in config:
        config[event_type] = wanted
        setattr(settings, AUTO_ROUTE_MARKER, (event_type, wanted))
    settings.EVENT_BUS_PRODUCER_CONFIG = config
