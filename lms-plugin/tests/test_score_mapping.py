"""Signal kwargs of every scoring path -> event data, defaults for what a path leaves out."""
import json
import os
from datetime import datetime, timedelta, timezone

from django.test import SimpleTestCase

from openedx_lti_provider_companion.data import ProblemWeightedScoreData
from openedx_lti_provider_companion.openedx_imports import CourseKey, UsageKey
from openedx_lti_provider_companion.score_mapping import UnpublishableScore, problem_score_from_signal

from . import avro_support, scoring_paths

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "score-events.json")
NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)


def mapped(kwargs):
    return problem_score_from_signal(kwargs, now=lambda: NOW)


class ScoringPaths(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(FIXTURES, encoding="utf-8") as f:
            cls.messages = {m["name"]: m for m in json.load(f)["messages"]}

    def test_each_path_maps_to_the_fixture_event(self):
        for name, path in scoring_paths.FIXTURE_PATHS.items():
            with self.subTest(path=name):
                data = mapped(path())
                expected = dict(self.messages[name]["decoded"])
                actual = avro_support.serialize(data)
                if name == "score-reset":
                    # That fixture writes ".5" where Python's isoformat() writes ".500000".
                    self.assertEqual(actual.pop("modified"), "2026-11-22T12:00:00.500000+00:00")
                    expected.pop("modified")
                self.assertEqual(actual, expected)

    def test_xblock_path(self):
        data = mapped(scoring_paths.xblock_problem())
        self.assertIsInstance(data, ProblemWeightedScoreData)
        self.assertEqual(data.course_id, CourseKey.from_string("course-v1:edX+DemoX+Demo_Course"))
        self.assertIsInstance(data.usage_id, UsageKey)
        self.assertIs(data.only_if_higher, False)
        self.assertIsNone(data.anonymous_user_id)
        self.assertEqual(data.score_db_table, "csm")

    def test_submissions_set_gets_defaults_and_doubles(self):
        data = mapped(scoring_paths.submissions_score_set())
        self.assertIs(data.score_deleted, False)
        self.assertIsNone(data.only_if_higher)
        self.assertEqual((type(data.weighted_earned), data.weighted_earned), (float, 8.0))
        self.assertEqual((type(data.weighted_possible), data.weighted_possible), (float, 10.0))

    def test_submissions_reset(self):
        data = mapped(scoring_paths.submissions_score_reset())
        self.assertIs(data.score_deleted, True)
        self.assertEqual((data.weighted_earned, data.weighted_possible), (0.0, 0.0))
        self.assertEqual(data.anonymous_user_id, "ab12")

    def test_signal_bookkeeping_and_unknown_kwargs_are_ignored(self):
        data = mapped(scoring_paths.xblock_problem(signal=object(), sender=None, grading_policy_hash="x"))
        self.assertEqual(data.user_id, 42)

    def test_key_objects_are_accepted_like_strings(self):
        kwargs = scoring_paths.xblock_problem()
        kwargs["course_id"] = CourseKey.from_string(kwargs["course_id"])
        self.assertEqual(mapped(kwargs), mapped(scoring_paths.xblock_problem()))


class Modified(SimpleTestCase):
    def test_other_zones_become_utc(self):
        plus_two = timezone(timedelta(hours=2))
        data = mapped(scoring_paths.xblock_problem(modified=datetime(2026, 11, 20, 12, 15, 30, tzinfo=plus_two)))
        self.assertEqual(data.modified.isoformat(), "2026-11-20T10:15:30+00:00")

    def test_naive_is_read_as_utc(self):
        data = mapped(scoring_paths.xblock_problem(modified=datetime(2026, 11, 20, 10, 15, 30)))
        self.assertEqual(data.modified.isoformat(), "2026-11-20T10:15:30+00:00")

    def test_iso_strings_are_parsed(self):
        data = mapped(scoring_paths.xblock_problem(modified="2026-11-20T11:15:30.5+01:00"))
        self.assertEqual(data.modified.isoformat(), "2026-11-20T10:15:30.500000+00:00")

    def test_missing_means_now(self):
        kwargs = scoring_paths.submissions_score_set()
        del kwargs["modified"]
        self.assertEqual(mapped(kwargs).modified, NOW)


class Defaults(SimpleTestCase):
    def test_missing_optional_kwargs_are_defaulted_not_dropped(self):
        kwargs = scoring_paths.submissions_score_set()
        for name in ("score_db_table", "anonymous_user_id"):
            del kwargs[name]
        data = mapped(kwargs)
        self.assertEqual(data.score_db_table, "csm")
        self.assertIsNone(data.anonymous_user_id)
        self.assertIs(data.score_deleted, False)

    def test_none_score_deleted_is_false(self):
        self.assertIs(mapped(scoring_paths.xblock_problem(score_deleted=None)).score_deleted, False)


class Unpublishable(SimpleTestCase):
    def assertUnpublishable(self, kwargs, reason):
        with self.assertRaises(UnpublishableScore) as ctx:
            mapped(kwargs)
        self.assertEqual(ctx.exception.reason, reason)

    def test_points_must_be_known_and_finite(self):
        # edx passes raw values through when raw_possible is None.
        self.assertUnpublishable(scoring_paths.xblock_problem(weighted_possible=None), "weighted_possible missing")
        self.assertUnpublishable(scoring_paths.xblock_problem(weighted_earned=None), "weighted_earned missing")
        self.assertUnpublishable(scoring_paths.xblock_problem(weighted_earned=float("nan")), "weighted_earned is not finite")
        self.assertUnpublishable(scoring_paths.xblock_problem(weighted_earned="x"), "weighted_earned is not a number")

    def test_user_and_keys_are_required(self):
        kwargs = scoring_paths.xblock_problem()
        del kwargs["user_id"]
        self.assertUnpublishable(kwargs, "user_id missing")
        self.assertUnpublishable(scoring_paths.xblock_problem(user_id="abc"), "user_id is not an integer")
        self.assertUnpublishable(scoring_paths.xblock_problem(course_id=None), "course_id missing")
        self.assertUnpublishable(scoring_paths.xblock_problem(usage_id=""), "usage_id missing")

    def test_content_libraries_are_not_courses(self):
        self.assertUnpublishable(scoring_paths.xblock_problem(course_id="lib:Org:slug"), "course_id is not a course run key")
        self.assertUnpublishable(scoring_paths.xblock_problem(usage_id="lb:Org:slug:problem:p1"), "usage_id is not a course block key")
