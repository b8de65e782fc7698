"""
From the keyword arguments of edx-platform's PROBLEM_WEIGHTED_SCORE_CHANGED to the event data.

The three scoring paths send different kwargs (event-bus.md section 1.1):

====================  ===================  ==================  ====================
kwarg                 XBlock/CAPA          submissions set     submissions reset
====================  ===================  ==================  ====================
anonymous_user_id     absent               str                 str
weighted_*            floats               ints                0 / 0
only_if_higher        bool                 absent              absent
score_deleted         bool                 absent              True
modified              datetime             created_at          created_at
score_db_table        'csm'                'submissions'       'submissions'
====================  ===================  ==================  ====================

Absent optional kwargs get the documented defaults instead of dropping the event. Unknown kwargs
(``grader_response``, anything newer) are ignored.
"""
import math
from datetime import datetime, timezone

from django.utils.dateparse import parse_datetime

from .data import ProblemWeightedScoreData
from .openedx_imports import CourseKey, InvalidKeyError, UsageKey

# The table of the generic XBlock path; both submissions paths always name theirs.
DEFAULT_SCORE_DB_TABLE = "csm"


class UnpublishableScore(Exception):
    """The signal cannot be expressed in the event schema; the reason is safe to log."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def problem_score_from_signal(kwargs, now):
    """
    Build the event data from the signal's kwargs.

    ``now`` (a callable returning an aware datetime) stands in for ``modified`` when a sender
    omits it. Raises UnpublishableScore when a required value is missing or the context is not a
    course (content libraries have no course grades; the LMS's own LTI provider skips them too).
    """
    return ProblemWeightedScoreData(
        user_id=_user_id(kwargs.get("user_id")),
        course_id=_key(CourseKey, "course_id", kwargs.get("course_id")),
        usage_id=_key(UsageKey, "usage_id", kwargs.get("usage_id")),
        # The schema has no null for the points, so a score without them cannot travel; the LMS's
        # built-in provider ignores such calls as well.
        weighted_earned=_points("weighted_earned", kwargs.get("weighted_earned")),
        weighted_possible=_points("weighted_possible", kwargs.get("weighted_possible")),
        modified=_modified(kwargs.get("modified"), now),
        score_db_table=str(kwargs.get("score_db_table") or DEFAULT_SCORE_DB_TABLE),
        score_deleted=bool(kwargs.get("score_deleted") or False),
        anonymous_user_id=_optional_str(kwargs.get("anonymous_user_id")),
        only_if_higher=None if kwargs.get("only_if_higher") is None else bool(kwargs["only_if_higher"]),
    )


def _user_id(value):
    if value is None or isinstance(value, bool):
        raise UnpublishableScore("user_id missing")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UnpublishableScore("user_id is not an integer") from None


def _key(key_class, name, value):
    if value is None or value == "":
        raise UnpublishableScore(f"{name} missing")
    try:
        return key_class.from_string(str(value))
    except InvalidKeyError:
        raise UnpublishableScore(f"{name} is not a course {'run' if name == 'course_id' else 'block'} key") from None


def _points(name, value):
    if value is None:
        raise UnpublishableScore(f"{name} missing")
    try:
        points = float(value)
    except (TypeError, ValueError):
        raise UnpublishableScore(f"{name} is not a number") from None
    if not math.isfinite(points):
        raise UnpublishableScore(f"{name} is not finite")
    return points


def _modified(value, now):
    if isinstance(value, str):
        value = parse_datetime(value)
    if not isinstance(value, datetime):
        value = now()
    if value.tzinfo is None or value.utcoffset() is None:
        # The LMS runs with USE_TZ, so a naive value is UTC that lost its zone on the way.
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _optional_str(value):
    return None if value is None else str(value)
