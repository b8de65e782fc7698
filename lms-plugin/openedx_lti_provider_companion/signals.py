"""
The Open edX event this plugin defines.

It is created when this module is imported, and apps.py imports it: the signal must be registered
before openedx-events' ready() checks EVENT_BUS_PRODUCER_CONFIG, or the LMS refuses to start with
ProducerConfigurationError (event-bus.md section 2).

The event type comes from LTI_PROVIDER_SCORE_EVENT_TYPE: the signal registry is global, so should
Open edX ever define the same name upstream, a private reverse-DNS prefix avoids the collision.
"""
from . import conf
from .data import ProblemWeightedScoreData
from .openedx_imports import OpenEdxPublicSignal

# .. event_type: org.openedx.learning.problem.weighted_score.changed.v1
# .. event_name: PROBLEM_WEIGHTED_SCORE_CHANGED_V1
# .. event_description: a learner's weighted score on one problem changed (republished from
#      edx-platform's PROBLEM_WEIGHTED_SCORE_CHANGED once the score row is committed)
# .. event_data: ProblemWeightedScoreData
PROBLEM_WEIGHTED_SCORE_CHANGED_V1 = OpenEdxPublicSignal(
    event_type=conf.get("LTI_PROVIDER_SCORE_EVENT_TYPE"),
    data={"problem_score": ProblemWeightedScoreData},
)
