"""The data class generates exactly the published Avro schema and the published byte vectors."""
import json
import os

import attr
from django.test import SimpleTestCase

from openedx_lti_provider_companion.conf import SCORE_EVENT_TYPE
from openedx_lti_provider_companion.data import ProblemWeightedScoreData
from openedx_lti_provider_companion.score_mapping import problem_score_from_signal

from . import avro_support, scoring_paths

HERE = os.path.dirname(__file__)
# Our own repository's vendored reader schema (the TypeScript consumer decodes with it).
REPO_AVSC = os.path.join(HERE, "..", "..", "schemas", "avro", "org+openedx+learning+problem+weighted_score+changed+v1_schema.avsc")
FIXTURES = os.path.join(HERE, "fixtures", "score-events.json")


def derived_schema():
    return avro_support.schema_for(SCORE_EVENT_TYPE, "problem_score", ProblemWeightedScoreData)


class Schema(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(FIXTURES, encoding="utf-8") as f:
            cls.fixtures = json.load(f)

    def test_fields_in_order_with_types(self):
        self.assertEqual(
            [(f.name, f.type.__name__, f.default) for f in attr.fields(ProblemWeightedScoreData)],
            [
                ("user_id", "int", attr.NOTHING),
                ("course_id", "CourseKey", attr.NOTHING),
                ("usage_id", "UsageKey", attr.NOTHING),
                ("weighted_earned", "float", attr.NOTHING),
                ("weighted_possible", "float", attr.NOTHING),
                ("modified", "datetime", attr.NOTHING),
                ("score_db_table", "str", attr.NOTHING),
                ("score_deleted", "bool", attr.NOTHING),
                ("anonymous_user_id", "str", None),
                ("only_if_higher", "bool", None),
            ],
        )

    def test_matches_the_repository_avsc(self):
        with open(REPO_AVSC, encoding="utf-8") as f:
            self.assertEqual(derived_schema(), json.load(f))

    def test_matches_the_registered_schema_string_byte_for_byte(self):
        # What the Python producer registers: json.dumps(schema, sort_keys=True), 801 bytes.
        registered = json.dumps(derived_schema(), sort_keys=True)
        self.assertEqual(registered, self.fixtures["value_schema_sorted"])
        self.assertEqual(len(registered.encode("utf-8")), 801)

    def test_encoded_events_match_the_published_bytes(self):
        record = derived_schema()["fields"][0]["type"]
        for message in self.fixtures["messages"]:
            if message["name"] == "score-reset":
                continue  # its modified string is not what isoformat() writes; covered in test_score_mapping
            with self.subTest(message=message["name"]):
                kwargs = scoring_paths.FIXTURE_PATHS[message["name"]]()
                data = problem_score_from_signal(kwargs, now=None)
                body = avro_support.encode(record, avro_support.serialize(data))
                self.assertEqual(body.hex(), message["value_hex"][10:])
                self.assertEqual(data.modified.isoformat(), message["ce_time"])
                # Key: Confluent frame + the user id as an Avro long.
                self.assertEqual(avro_support.encode_long(data.user_id).hex(), message["key_hex"][10:])

    def test_event_bus_md_encoding_check(self):
        vector = self.fixtures["doc_vector"]
        record = derived_schema()["fields"][0]["type"]
        self.assertEqual(avro_support.encode(record, vector["decoded"]).hex(), vector["body_hex"])
