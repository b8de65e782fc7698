"""
The companion's settings, their defaults, and one accessor.

Settings are read at call time, not copied at import time: Tutor and the LMS YAML apply operator
values after plugin settings ran, and tests override them per case.
"""
from urllib.parse import urlsplit

from django.conf import settings

SCORE_EVENT_TYPE = "org.openedx.learning.problem.weighted_score.changed.v1"
SCORE_TOPIC = "learning-problem-score-lifecycle"
# The event bus keys messages by this dotted path into the event data: one learner's changes stay
# ordered in one partition (event-bus.md section 4.2).
SCORE_EVENT_KEY_FIELD = "problem_score.user_id"

DEFAULTS = {
    # Token handoff (openedx-rest.md section 6, option B).
    "LTI_PROVIDER_ISSUER": None,  # the tool service's PUBLIC_URL, e.g. https://lti.example.org
    "LTI_PROVIDER_JWKS_URL": None,  # default: LTI_PROVIDER_ISSUER + /lti/1.3/jwks
    "LTI_PROVIDER_AUDIENCE": None,  # default: origin of LMS_ROOT_URL, else of the request
    "LTI_PROVIDER_JWKS_TIMEOUT_SECONDS": 5,
    "LTI_PROVIDER_JWKS_CACHE_SECONDS": 300,
    # A token signed with a key we have not seen triggers one early re-fetch (key rotation), but
    # not more often than this, so forged kids cannot hammer the tool service.
    "LTI_PROVIDER_JWKS_MIN_REFRESH_SECONDS": 30,
    "LTI_PROVIDER_CLOCK_SKEW_SECONDS": 30,
    # The tool signs 60-second tokens; anything living longer was not minted by it for this use.
    "LTI_PROVIDER_TOKEN_MAX_LIFETIME_SECONDS": 300,
    # Accounts created through the registration API stay inactive until the learner clicks the
    # activation e-mail; the LMS's own login lets them in too (AllowAllUsersModelBackend).
    "LTI_PROVIDER_ALLOW_INACTIVE_USERS": True,
    "LTI_PROVIDER_LOGIN_BACKEND": None,  # default: first fitting ModelBackend in AUTHENTICATION_BACKENDS
    # Score republishing (event-bus.md section 2).
    "LTI_PROVIDER_REPUBLISH_SCORES": True,
    "LTI_PROVIDER_SCORE_EVENT_TYPE": SCORE_EVENT_TYPE,
    "LTI_PROVIDER_SCORE_TOPIC": SCORE_TOPIC,
}


def get(name):
    """Value of one companion setting, falling back to its default."""
    if name not in DEFAULTS:
        raise KeyError(f"unknown companion setting {name}")
    value = getattr(settings, name, None)
    return DEFAULTS[name] if value is None else value


def issuer():
    value = get("LTI_PROVIDER_ISSUER")
    return value.rstrip("/") if value else None


def jwks_url():
    explicit = get("LTI_PROVIDER_JWKS_URL")
    if explicit:
        return explicit
    iss = issuer()
    return f"{iss}/lti/1.3/jwks" if iss else None


def audience(request):
    """
    The audience our tokens must carry: the LMS origin, as the tool service computes it
    (``new URL(LMS_URL).origin``: lower-case scheme and host, default port dropped).
    """
    explicit = get("LTI_PROVIDER_AUDIENCE")
    if explicit:
        return explicit
    root = getattr(settings, "LMS_ROOT_URL", None)
    if root:
        return origin_of(root)
    return origin_of(f"{request.scheme}://{request.get_host()}")


def origin_of(url):
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}.get(scheme)
    port = parts.port
    return f"{scheme}://{host}" if port in (None, default_port) else f"{scheme}://{host}:{port}"


def producer_route(topic):
    """
    The value of our event type in EVENT_BUS_PRODUCER_CONFIG: one topic, keyed by user id. Both
    inner keys are required; openedx-events checks their presence and types at startup.
    """
    return {topic: {"event_key_field": SCORE_EVENT_KEY_FIELD, "enabled": True}}
