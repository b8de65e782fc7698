"""
Receiver of edx-platform's PROBLEM_WEIGHTED_SCORE_CHANGED that republishes it as our Open edX event.

The signal fires while the score row may still be inside an open transaction; the event is sent from
``transaction.on_commit`` so a consumer never sees a score the LMS later rolls back, and a rollback
sends nothing. openedx-events forwards the event to the bus (EVENT_BUS_PRODUCER_CONFIG routes it to
learning-problem-score-lifecycle keyed by problem_score.user_id).
"""
import logging
from datetime import datetime, timezone

from django.db import transaction

from . import openedx_imports
from .score_mapping import UnpublishableScore, problem_score_from_signal

log = logging.getLogger(__name__)

DISPATCH_UID = "openedx_lti_provider_companion.republish_problem_weighted_score"


def utc_now():
    return datetime.now(timezone.utc)


def send_on_event_bus(problem_score):
    """Send the event; ``time`` is the score row's save time, as OEP-41 asks for DB-backed events."""
    from .signals import PROBLEM_WEIGHTED_SCORE_CHANGED_V1
    PROBLEM_WEIGHTED_SCORE_CHANGED_V1.send_event(time=problem_score.modified, problem_score=problem_score)


def make_receiver(send=send_on_event_bus, now=utc_now, using=None):
    """
    A signal receiver that maps the kwargs now and calls ``send(problem_score)`` after the commit of
    the current transaction on database ``using`` (immediately when none is open).
    """

    def republish_problem_weighted_score(sender, **kwargs):  # pylint: disable=unused-argument
        try:
            problem_score = problem_score_from_signal(kwargs, now)
        except UnpublishableScore as exc:
            log.info("Score change not republished: %s (usage %s)", exc.reason, kwargs.get("usage_id"))
            return
        transaction.on_commit(lambda: _send_reporting_errors(send, problem_score), using=using)

    return republish_problem_weighted_score


def _send_reporting_errors(send, problem_score):
    # An exception from an on_commit callback would surface in the LMS request or task that
    # committed the grade, after the grade is safely stored: report it instead. Our service
    # re-syncs grades over REST for events lost this way.
    try:
        send(problem_score)
    except Exception:  # pylint: disable=broad-except
        log.exception(
            "Could not republish score change for user %s on %s", problem_score.user_id, problem_score.usage_id
        )


republish_problem_weighted_score = make_receiver()


def connect():
    """Connect the receiver to edx-platform's signal; idempotent thanks to dispatch_uid."""
    openedx_imports.problem_weighted_score_changed_signal().connect(
        republish_problem_weighted_score, dispatch_uid=DISPATCH_UID, weak=False
    )
