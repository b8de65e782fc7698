"""TokenVerifier: signature, algorithm allow-list, issuer, audience, time claims, claim shapes."""
import json
import os

from django.test import SimpleTestCase

from openedx_lti_provider_companion import conf
from openedx_lti_provider_companion.errors import LoginRefused
from openedx_lti_provider_companion.jwks import KeySet
from openedx_lti_provider_companion.token_verifier import TokenVerifier

from . import jwt_support as js

NOW = 1_800_000_000
HANDOFF_VECTOR = os.path.join(os.path.dirname(__file__), "fixtures", "handoff-token.json")


class FakeClock:
    def __init__(self, value):
        self.value = value

    def __call__(self):
        return self.value


def verifier(document=None, now=NOW, issuer=js.ISSUER, audience=js.AUDIENCE, skew=30, max_lifetime=300):
    fetch = js.FakeFetch(document)
    keys = KeySet("https://lti.example.org/lti/1.3/jwks", fetch, timeout=5, ttl=300, min_refresh=30)
    v = TokenVerifier(keys.key_for, issuer, audience, skew, max_lifetime, FakeClock(now))
    v.fetch = fetch
    return v


class VerifierTestCase(SimpleTestCase):
    def assertRefused(self, code, token, **kwargs):
        with self.assertRaises(LoginRefused) as ctx:
            verifier(**kwargs).verify(token)
        self.assertEqual(ctx.exception.code, code)
        return ctx.exception


class AcceptedTokens(VerifierTestCase):
    def test_a_token_signed_like_the_tool_verifies(self):
        payload = js.claims(now=NOW, sub="learner_7", lms_user_id=7, jti="j-1")
        token = verifier().verify(js.sign(payload))
        self.assertEqual(token.username, "learner_7")
        self.assertEqual(token.lms_user_id, 7)
        self.assertEqual(token.next_path, payload["next"])
        self.assertEqual(token.jti, "j-1")
        self.assertEqual(token.issuer, js.ISSUER)
        self.assertEqual(token.expires_at, NOW + 60)

    def test_the_token_src_launch_handoff_ts_produces_verifies(self):
        # Signed by jose through the service's own createHandoff (token mode); the audience is the
        # LMS origin computed the same way on both sides.
        with open(HANDOFF_VECTOR, encoding="utf-8") as f:
            vector = json.load(f)
        audience = conf.origin_of(vector["form_action"])
        self.assertEqual(audience, "https://lms.example.org")
        v = verifier(document=vector["jwks"], now=vector["now_epoch"] + 1, audience=audience)
        token = v.verify(vector["form_fields"]["token"])
        self.assertEqual(token.username, "learner_4242")
        self.assertEqual(token.lms_user_id, 4242)
        self.assertEqual(token.next_path, vector["form_fields"]["next"])
        self.assertEqual(token.expires_at, vector["now_epoch"] + 60)

    def test_the_handoff_vector_expires_after_its_60_seconds_plus_skew(self):
        with open(HANDOFF_VECTOR, encoding="utf-8") as f:
            vector = json.load(f)
        self.assertRefused(
            "COMPANION_TOKEN_EXPIRED", vector["form_fields"]["token"],
            document=vector["jwks"], now=vector["now_epoch"] + 90, audience="https://lms.example.org",
        )

    def test_audience_may_be_a_list_containing_the_lms(self):
        token = js.sign(js.claims(now=NOW, aud=["https://other.example", js.AUDIENCE]))
        self.assertEqual(verifier().verify(token).username, "learner_1")

    def test_clock_skew_is_tolerated_both_ways(self):
        verifier(now=NOW + 60 + 29).verify(js.sign(js.claims(now=NOW)))
        verifier(now=NOW - 29).verify(js.sign(js.claims(now=NOW)))

    def test_next_and_lms_user_id_are_optional(self):
        token = verifier().verify(js.sign(js.claims(now=NOW, next=js.DROP, lms_user_id=js.DROP)))
        self.assertIsNone(token.next_path)
        self.assertIsNone(token.lms_user_id)


class RefusedTokens(VerifierTestCase):
    def test_empty_token(self):
        self.assertRefused("COMPANION_TOKEN_MISSING", "")

    def test_garbage(self):
        self.assertRefused("COMPANION_TOKEN_MALFORMED", "not-a-jwt")
        self.assertRefused("COMPANION_TOKEN_MALFORMED", "a.b.c")

    def test_oversized_token(self):
        self.assertRefused("COMPANION_TOKEN_MALFORMED", "x" * 9000)

    def test_expired(self):
        self.assertRefused("COMPANION_TOKEN_EXPIRED", js.sign(js.claims(now=NOW)), now=NOW + 60 + 30)

    def test_issued_in_the_future(self):
        self.assertRefused("COMPANION_TOKEN_NOT_YET_VALID", js.sign(js.claims(now=NOW + 31)))

    def test_not_before_in_the_future(self):
        self.assertRefused("COMPANION_TOKEN_NOT_YET_VALID", js.sign(js.claims(now=NOW, nbf=NOW + 45)))

    def test_lifetime_longer_than_allowed(self):
        self.assertRefused("COMPANION_TOKEN_LIFETIME_TOO_LONG", js.sign(js.claims(now=NOW, exp=NOW + 3600)))

    def test_exp_not_after_iat(self):
        self.assertRefused("COMPANION_TOKEN_CLAIMS_INVALID", js.sign(js.claims(now=NOW, exp=NOW)))

    def test_wrong_audience(self):
        self.assertRefused("COMPANION_TOKEN_AUDIENCE_INVALID", js.sign(js.claims(now=NOW, aud="https://other-lms.example.org")))

    def test_wrong_issuer(self):
        self.assertRefused("COMPANION_TOKEN_ISSUER_INVALID", js.sign(js.claims(now=NOW, iss="https://evil.example")))
        self.assertRefused("COMPANION_TOKEN_ISSUER_INVALID", js.sign(js.claims(now=NOW, iss=js.ISSUER + "/")))

    def test_alg_none_is_refused_before_any_key_lookup(self):
        v = verifier()
        with self.assertRaises(LoginRefused) as ctx:
            v.verify(js.unsigned_token(js.claims(now=NOW)))
        self.assertEqual(ctx.exception.code, "COMPANION_TOKEN_ALG_NOT_ALLOWED")
        self.assertEqual(v.fetch.calls, 0)

    def test_hs256_keyed_with_the_public_key(self):
        self.assertRefused("COMPANION_TOKEN_ALG_NOT_ALLOWED", js.hs256_with_public_key(js.claims(now=NOW)))

    def test_other_asymmetric_algorithms(self):
        import jwt  # pylint: disable=import-outside-toplevel
        for alg in ("RS512", "PS256"):
            with self.subTest(alg=alg):
                token = jwt.encode(js.claims(now=NOW), js.rsa_key(), algorithm=alg, headers={"kid": js.KID})
                self.assertRefused("COMPANION_TOKEN_ALG_NOT_ALLOWED", token)

    def test_signed_by_another_key_under_our_kid(self):
        self.assertRefused("COMPANION_TOKEN_SIGNATURE_INVALID", js.sign(js.claims(now=NOW), private_key=js.rsa_key("intruder")))

    def test_payload_tampered_after_signing(self):
        header, _, signature = js.sign(js.claims(now=NOW, sub="learner_1")).split(".")
        forged = js.b64url(json.dumps(js.claims(now=NOW, sub="admin")).encode())
        self.assertRefused("COMPANION_TOKEN_SIGNATURE_INVALID", f"{header}.{forged}.{signature}")

    def test_unknown_kid(self):
        self.assertRefused("COMPANION_TOKEN_KEY_UNKNOWN", js.sign(js.claims(now=NOW), kid="unknown-kid"))

    def test_required_claims(self):
        for claim in ("iss", "aud", "sub", "iat", "exp", "jti"):
            with self.subTest(claim=claim):
                self.assertRefused("COMPANION_TOKEN_CLAIMS_INVALID", js.sign(js.claims(now=NOW, **{claim: js.DROP})))

    def test_claim_types(self):
        cases = {
            "lms_user_id": "7", "next": 5, "sub": "", "jti": "x" * 256, "exp": True,
        }
        for claim, value in cases.items():
            with self.subTest(claim=claim):
                self.assertRefused("COMPANION_TOKEN_CLAIMS_INVALID", js.sign(js.claims(now=NOW, **{claim: value})))

    def test_non_finite_expiry(self):
        # json.loads reads NaN; every comparison with it is False, so it must be refused explicitly.
        payload = json.dumps(js.claims(now=NOW, exp=js.DROP))[:-1] + ', "exp": NaN}'
        self.assertRefused("COMPANION_TOKEN_CLAIMS_INVALID", js.sign_raw_payload(payload.encode()))

    def test_critical_header_extensions(self):
        self.assertRefused("COMPANION_TOKEN_MALFORMED", js.sign(js.claims(now=NOW), headers={"crit": ["exp"], "exp": 1}))
