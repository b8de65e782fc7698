"""
The only module that imports openedx-events, opaque-keys or edx-platform code.

Everything else in the companion imports these names from here, so the test suite can run on plain
Django: tests/openedx_stand_ins.py replaces this module in ``sys.modules`` before Django starts and
must export the same names (a test compares both).

Module-level imports are the libraries the LMS always ships and that are safe while Django's app
registry is still loading (apps.py imports this module that early, because the event must exist
before openedx-events validates EVENT_BUS_PRODUCER_CONFIG in its ready()). edx-platform modules that
touch models are imported inside functions, after the registry is ready.
"""
from opaque_keys import InvalidKeyError  # noqa: F401  (re-exported)
from opaque_keys.edx.keys import CourseKey, UsageKey  # noqa: F401  (re-exported)
from openedx_events.tooling import OpenEdxPublicSignal  # noqa: F401  (re-exported)


def problem_weighted_score_changed_signal():
    """edx-platform's plain Django signal for per-problem weighted scores (event-bus.md section 1)."""
    from lms.djangoapps.grades.signals.signals import PROBLEM_WEIGHTED_SCORE_CHANGED
    return PROBLEM_WEIGHTED_SCORE_CHANGED


def mark_user_change_as_expected(user_id):
    """
    Tell the LMS's safe-sessions middleware that this request logs a (new) user in; without it the
    middleware treats the user change as a session mix-up, as the LMS's own login view does.
    """
    from openedx.core.djangoapps.safe_sessions.middleware import mark_user_change_as_expected as mark
    mark(user_id)


def set_logged_in_cookies(request, response, user):
    """The LMS's login cookies (edxloggedin, user info, JWT cookies for the MFEs), as its login view sets them."""
    from openedx.core.djangoapps.user_authn.cookies import set_logged_in_cookies as set_cookies
    return set_cookies(request, response, user)
