"""The receiver defers sending to the commit, and the event travels through the Open edX signal."""
from django.db import transaction
from django.test import TestCase, TransactionTestCase

from openedx_lti_provider_companion import openedx_imports, republisher
from openedx_lti_provider_companion.conf import SCORE_EVENT_KEY_FIELD, SCORE_EVENT_TYPE
from openedx_lti_provider_companion.data import ProblemWeightedScoreData
from openedx_lti_provider_companion.signals import PROBLEM_WEIGHTED_SCORE_CHANGED_V1

from . import scoring_paths


class FakeBus:
    """Stands in for the event-bus sender: records what would have been sent."""

    def __init__(self, error=None):
        self.sent = []
        self.error = error

    def __call__(self, problem_score):
        if self.error:
            raise self.error
        self.sent.append(problem_score)


class DeferredUntilCommit(TestCase):
    def test_nothing_is_sent_before_the_commit(self):
        bus = FakeBus()
        receiver = republisher.make_receiver(send=bus)
        with self.captureOnCommitCallbacks(execute=False) as callbacks:
            receiver(sender=None, **scoring_paths.xblock_problem())
        self.assertEqual(bus.sent, [])
        self.assertEqual(len(callbacks), 1)
        callbacks[0]()
        self.assertEqual(len(bus.sent), 1)
        self.assertIsInstance(bus.sent[0], ProblemWeightedScoreData)
        self.assertEqual(bus.sent[0].user_id, 42)

    def test_each_path_is_sent_with_its_mapped_data(self):
        for name, path in scoring_paths.FIXTURE_PATHS.items():
            with self.subTest(path=name):
                bus = FakeBus()
                with self.captureOnCommitCallbacks(execute=True):
                    republisher.make_receiver(send=bus)(sender=None, **path())
                self.assertEqual(len(bus.sent), 1)

    def test_unpublishable_scores_register_nothing(self):
        bus = FakeBus()
        with self.assertLogs("openedx_lti_provider_companion.republisher", "INFO") as logs:
            with self.captureOnCommitCallbacks(execute=True) as callbacks:
                republisher.make_receiver(send=bus)(sender=None, **scoring_paths.xblock_problem(weighted_possible=None))
        self.assertEqual(callbacks, [])
        self.assertIn("weighted_possible missing", logs.output[0])

    def test_a_failing_send_is_logged_not_raised(self):
        bus = FakeBus(error=RuntimeError("broker down"))
        with self.assertLogs("openedx_lti_provider_companion.republisher", "ERROR"):
            with self.captureOnCommitCallbacks(execute=True):
                republisher.make_receiver(send=bus)(sender=None, **scoring_paths.xblock_problem())


class RealTransactions(TransactionTestCase):
    def test_sent_after_commit(self):
        bus = FakeBus()
        receiver = republisher.make_receiver(send=bus)
        with transaction.atomic():
            receiver(sender=None, **scoring_paths.submissions_score_set())
            self.assertEqual(bus.sent, [])
        self.assertEqual(len(bus.sent), 1)

    def test_never_sent_on_rollback(self):
        bus = FakeBus()
        receiver = republisher.make_receiver(send=bus)
        with self.assertRaises(ZeroDivisionError):
            with transaction.atomic():
                receiver(sender=None, **scoring_paths.submissions_score_set())
                raise ZeroDivisionError
        self.assertEqual(bus.sent, [])

    def test_sent_at_once_without_a_transaction(self):
        bus = FakeBus()
        republisher.make_receiver(send=bus)(sender=None, **scoring_paths.submissions_score_reset())
        self.assertEqual(len(bus.sent), 1)


class ThroughTheSignals(TestCase):
    """edx-platform signal -> our receiver (connected in ready()) -> OpenEdxPublicSignal -> bus handler."""

    def setUp(self):
        self.received = []

        def bus_handler(sender, signal, **kwargs):  # like openedx-events' general_signal_handler
            self.received.append((signal, kwargs))

        PROBLEM_WEIGHTED_SCORE_CHANGED_V1.connect(bus_handler, weak=False, dispatch_uid="test-bus")
        self.addCleanup(PROBLEM_WEIGHTED_SCORE_CHANGED_V1.disconnect, dispatch_uid="test-bus")

    def test_the_lms_signal_reaches_the_event_bus_handler_after_commit(self):
        kwargs = scoring_paths.xblock_problem()
        with self.captureOnCommitCallbacks(execute=False) as callbacks:
            openedx_imports.problem_weighted_score_changed_signal().send(sender=None, **kwargs)
        self.assertEqual(self.received, [])
        for callback in callbacks:
            callback()
        self.assertEqual(len(self.received), 1)
        signal, event = self.received[0]
        self.assertEqual(signal.event_type, SCORE_EVENT_TYPE)
        self.assertEqual(event["metadata"]["time"], kwargs["modified"])
        # The bus keys the message by the dotted event_key_field path into the event data.
        value = event
        for part in SCORE_EVENT_KEY_FIELD.split("."):
            value = value[part] if isinstance(value, dict) else getattr(value, part)
        self.assertEqual(value, 42)

    def test_the_event_type_is_registered_for_openedx_events(self):
        self.assertIs(openedx_imports.OpenEdxPublicSignal.get_signal_by_type(SCORE_EVENT_TYPE), PROBLEM_WEIGHTED_SCORE_CHANGED_V1)
        self.assertEqual(PROBLEM_WEIGHTED_SCORE_CHANGED_V1.init_data, {"problem_score": ProblemWeightedScoreData})

    def test_connect_is_idempotent(self):
        republisher.connect()
        republisher.connect()
        with self.captureOnCommitCallbacks(execute=True):
            openedx_imports.problem_weighted_score_changed_signal().send(sender=None, **scoring_paths.xblock_problem())
        self.assertEqual(len(self.received), 1)
