"""JWKS: which keys are usable, caching, rotation, outages, and the real HTTP fetch."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.test import SimpleTestCase

from openedx_lti_provider_companion.errors import LoginRefused
from openedx_lti_provider_companion.jwks import MAX_JWKS_BYTES, KeySet, fetch_json, usable_keys

from . import jwt_support as js


class Clock:
    def __init__(self):
        self.value = 1000.0

    def __call__(self):
        return self.value


def key_set(fetch, clock, ttl=300, min_refresh=30):
    return KeySet("https://lti.example.org/lti/1.3/jwks", fetch, timeout=5, ttl=ttl, min_refresh=min_refresh, clock=clock)


class UsableKeys(SimpleTestCase):
    def test_only_rsa_signing_keys_of_2048_bits_or_more(self):
        from jwt.algorithms import ECAlgorithm  # pylint: disable=import-outside-toplevel

        good = js.public_jwk(js.rsa_key(), kid="good")
        private = dict(js.public_jwk(js.rsa_key(), kid="private"), d="AQAB")
        encryption = js.public_jwk(js.rsa_key(), kid="enc", use="enc")
        rs512 = js.public_jwk(js.rsa_key(), kid="rs512", alg="RS512")
        small = js.public_jwk(js.rsa_key("small", 1024), kid="small")
        ec_jwk = dict(json.loads(ECAlgorithm.to_jwk(js.ec_key().public_key())), kid="ec")
        no_alg = {k: v for k, v in js.public_jwk(js.rsa_key("second"), kid="no-alg").items() if k not in ("alg", "use")}
        keys = usable_keys(js.jwks(good, private, encryption, rs512, small, ec_jwk, no_alg, "junk"))
        self.assertEqual(sorted(keys), ["good", "no-alg"])

    def test_a_document_without_keys_is_an_error(self):
        for document in ({}, {"keys": "x"}, [], "x"):
            with self.subTest(document=document), self.assertRaises(ValueError):
                usable_keys(document)


class Caching(SimpleTestCase):
    def test_keys_are_fetched_once_within_the_ttl(self):
        fetch, clock = js.FakeFetch(), Clock()
        keys = key_set(fetch, clock)
        keys.key_for(js.KID)
        clock.value += 299
        keys.key_for(js.KID)
        self.assertEqual(fetch.calls, 1)
        clock.value += 1
        keys.key_for(js.KID)
        self.assertEqual(fetch.calls, 2)

    def test_an_unknown_kid_refetches_once_then_is_refused(self):
        fetch, clock = js.FakeFetch(), Clock()
        keys = key_set(fetch, clock)
        keys.key_for(js.KID)
        clock.value += 31
        for _ in range(3):
            with self.assertRaises(LoginRefused) as ctx:
                keys.key_for("forged")
            self.assertEqual(ctx.exception.code, "COMPANION_TOKEN_KEY_UNKNOWN")
        self.assertEqual(fetch.calls, 2)

    def test_a_rotated_key_is_found_by_the_early_refetch(self):
        fetch, clock = js.FakeFetch(), Clock()
        keys = key_set(fetch, clock)
        keys.key_for(js.KID)
        fetch.document = js.jwks(js.public_jwk(js.rsa_key()), js.public_jwk(js.rsa_key("next"), kid="next"))
        clock.value += 30
        self.assertEqual(keys.key_for("next").public_numbers(), js.rsa_key("next").public_key().public_numbers())

    def test_first_fetch_failure_means_unavailable(self):
        keys = key_set(js.FakeFetch(error=OSError("connection refused")), Clock())
        with self.assertRaises(LoginRefused) as ctx:
            keys.key_for(js.KID)
        self.assertEqual(ctx.exception.code, "COMPANION_JWKS_UNAVAILABLE")

    def test_cached_keys_outlive_an_outage(self):
        fetch, clock = js.FakeFetch(), Clock()
        keys = key_set(fetch, clock)
        keys.key_for(js.KID)
        fetch.error = ValueError("bad json")
        clock.value += 301
        keys.key_for(js.KID)
        keys.key_for(js.KID)
        self.assertEqual(fetch.calls, 2)  # the failed refresh is not retried on every login

    def test_token_without_kid_needs_exactly_one_key(self):
        fetch = js.FakeFetch()
        self.assertIsNotNone(key_set(fetch, Clock()).key_for(None))
        fetch = js.FakeFetch(js.jwks(js.public_jwk(js.rsa_key()), js.public_jwk(js.rsa_key("next"), kid="next")))
        with self.assertRaises(LoginRefused):
            key_set(fetch, Clock()).key_for(None)


class _Handler(BaseHTTPRequestHandler):
    routes = {}

    def do_GET(self):  # noqa: N802
        status, body = self.routes.get(self.path, (404, b"{}"))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # silence
        pass


class HttpFetch(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.base = f"http://127.0.0.1:{cls.server.server_address[1]}"
        _Handler.routes = {
            "/lti/1.3/jwks": (200, json.dumps(js.default_jwks()).encode()),
            "/huge": (200, b" " * (MAX_JWKS_BYTES + 1)),
            "/html": (200, b"<html>"),
        }

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        cls.thread.join()
        super().tearDownClass()

    def test_fetches_and_parses_the_document(self):
        self.assertEqual(fetch_json(self.base + "/lti/1.3/jwks", 5), js.default_jwks())

    def test_failures_are_os_or_value_errors(self):
        for path, error in (("/missing", OSError), ("/huge", ValueError), ("/html", ValueError)):
            with self.subTest(path=path), self.assertRaises(error):
                fetch_json(self.base + path, 5)
