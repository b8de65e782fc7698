"""
The event's data class. openedx-events derives the Avro schema from it (attrs order, field types,
``default=None`` = nullable), so this class *is* the wire contract of
schemas/avro/org+openedx+learning+problem+weighted_score+changed+v1_schema.avsc: change nothing here
without a new major event version.
"""
from datetime import datetime

import attr

from .openedx_imports import CourseKey, UsageKey


@attr.s(frozen=True)
class ProblemWeightedScoreData:
    """
    One learner's weighted score on one problem, as edx-platform's PROBLEM_WEIGHTED_SCORE_CHANGED
    reports it (event-bus.md section 1).

    Arguments:
        user_id (int): LMS user id.
        course_id (CourseKey): the course run.
        usage_id (UsageKey): the problem block.
        weighted_earned (float): points earned after weighting.
        weighted_possible (float): points possible after weighting.
        modified (datetime): when the score row was saved (UTC-aware).
        score_db_table (str): ``csm`` (XBlock/CAPA state) or ``submissions`` (ORA and other submissions).
        score_deleted (bool): the change comes from deleted or reset learner state.
        anonymous_user_id (str): sent by the submissions paths only.
        only_if_higher (bool): sent by the XBlock path only.
    """

    user_id = attr.ib(type=int)
    course_id = attr.ib(type=CourseKey)
    usage_id = attr.ib(type=UsageKey)
    weighted_earned = attr.ib(type=float)
    weighted_possible = attr.ib(type=float)
    modified = attr.ib(type=datetime)
    score_db_table = attr.ib(type=str)
    score_deleted = attr.ib(type=bool)
    # Defaulted fields last: attrs requires it, and openedx-events turns default=None into a
    # ["null", T] union with default null.
    anonymous_user_id = attr.ib(type=str, default=None)
    only_if_higher = attr.ib(type=bool, default=None)
