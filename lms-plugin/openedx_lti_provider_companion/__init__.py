"""
LMS-side companion of openedx-lti-provider.

Two jobs inside the Open edX LMS:

* republish the LMS's per-problem score signal (PROBLEM_WEIGHTED_SCORE_CHANGED) on the event bus as
  ``org.openedx.learning.problem.weighted_score.changed.v1``, after the grade row is committed;
* log a learner in from a one-time token signed by the tool service (``LMS_SESSION_HANDOFF=token``).
"""

__version__ = "0.1.0"
