"""
The kwargs each edx-platform scoring path passes to PROBLEM_WEIGHTED_SCORE_CHANGED
(lms/djangoapps/grades/signals/handlers.py, event-bus.md section 1.1), for the fixture messages.
Not a test module.
"""
from datetime import datetime, timezone


def xblock_problem(**overrides):
    """problem_raw_score_changed_handler (CAPA/XBlock): floats, only_if_higher, score_deleted, no anonymous id."""
    kwargs = dict(
        weighted_earned=2.0,
        weighted_possible=3.0,
        user_id=42,
        course_id="course-v1:edX+DemoX+Demo_Course",
        usage_id="block-v1:edX+DemoX+Demo_Course+type@problem+block@d1b6f2a0c2a64f3b9d6a1b2c3d4e5f60",
        only_if_higher=False,
        score_deleted=False,
        modified=datetime(2026, 11, 20, 10, 15, 30, 123456, tzinfo=timezone.utc),
        score_db_table="csm",
        grader_response=False,
    )
    kwargs.update(overrides)
    return kwargs


def submissions_score_set(**overrides):
    """submissions_score_set_handler: int points, anonymous id, no only_if_higher, no score_deleted."""
    kwargs = dict(
        weighted_earned=8,
        weighted_possible=10,
        user_id=1234567,
        anonymous_user_id="5afe5d9bb03796557ee2614f5c9611fb",
        course_id="course-v1:OpenedX+ORA101+2026_T1",
        usage_id="block-v1:OpenedX+ORA101+2026_T1+type@openassessment+block@ora_essay_1",
        modified=datetime(2026, 11, 21, 8, 0, 0, tzinfo=timezone.utc),
        score_db_table="submissions",
    )
    kwargs.update(overrides)
    return kwargs


def submissions_score_reset(**overrides):
    """submissions_score_reset_handler: 0/0, score_deleted=True."""
    kwargs = dict(
        weighted_earned=0,
        weighted_possible=0,
        user_id=42,
        anonymous_user_id="ab12",
        course_id="course-v1:edX+DemoX+Demo_Course",
        usage_id="block-v1:edX+DemoX+Demo_Course+type@problem+block@d1b6f2a0c2a64f3b9d6a1b2c3d4e5f60",
        modified=datetime(2026, 11, 22, 12, 0, 0, 500000, tzinfo=timezone.utc),
        score_deleted=True,
        score_db_table="submissions",
    )
    kwargs.update(overrides)
    return kwargs


def unusual_key_characters(**overrides):
    kwargs = xblock_problem(
        weighted_earned=0.25,
        weighted_possible=1.0,
        user_id=7,
        course_id="course-v1:Org-1+C~1.x+R_2",
        usage_id="block-v1:Org-1+C~1.x+R_2+type@problem+block@p%C3%A9",
        only_if_higher=True,
        modified=datetime(2026, 11, 22, 23, 59, 59, tzinfo=timezone.utc),
    )
    kwargs.update(overrides)
    return kwargs


# fixture message name -> kwargs of the scoring path that produced it
FIXTURE_PATHS = {
    "leaf-problem": xblock_problem,
    "submissions-score": submissions_score_set,
    "score-reset": submissions_score_reset,
    "unicode-key": unusual_key_characters,
}
