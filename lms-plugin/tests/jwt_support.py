"""Keys, JWKS documents and tokens for the token-login tests (not a test module)."""
import base64
import hashlib
import hmac
import json
import time
import uuid
from functools import lru_cache

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://lti.example.org"
AUDIENCE = "https://lms.example.org"
KID = "tool-key-1"
DROP = object()  # claims(jti=DROP) leaves the claim out


@lru_cache(maxsize=None)
def rsa_key(name="main", bits=2048):
    """One private key per name for the whole run (generation is the slow part)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@lru_cache(maxsize=None)
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def public_jwk(private_key, kid=KID, **extra):
    jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    jwk.update(extra)
    return jwk


def jwks(*jwks_):
    return {"keys": list(jwks_)}


def default_jwks():
    return jwks(public_jwk(rsa_key()))


def claims(now=None, **overrides):
    now = int(time.time()) if now is None else now
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "learner_1",
        "lms_user_id": 1,
        "next": "/xblock/block-v1:Org+C1+R1+type@problem+block@p1?view=student_view",
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not DROP}


def sign(payload, private_key=None, kid=KID, headers=None):
    """An RS256 token as the tool signs it."""
    header = {"kid": kid, "typ": "JWT"} if kid is not None else {"typ": "JWT"}
    header.update(headers or {})
    return jwt.encode(payload, private_key or rsa_key(), algorithm="RS256", headers=header)


def sign_raw_payload(payload_bytes, private_key=None, kid=KID):
    """RS256 over arbitrary payload bytes (e.g. JSON with NaN), bypassing PyJWT's JSON encoding."""
    return jwt.api_jws.encode(payload_bytes, private_key or rsa_key(), algorithm="RS256", headers={"kid": kid})


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unsigned_token(payload, kid=KID):
    """alg "none": header and payload, empty signature."""
    header = {"alg": "none", "kid": kid, "typ": "JWT"}
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}."


def hs256_with_public_key(payload, private_key=None, kid=KID):
    """The classic confusion attack: HMAC keyed with the verifier's RSA public key (PEM)."""
    secret = (private_key or rsa_key()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "kid": kid, "typ": "JWT"}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


class FakeFetch:
    """Stands in for jwks.fetch_json: serves a document (or raises) and counts calls."""

    def __init__(self, document=None, error=None):
        self.document = document if document is not None else default_jwks()
        self.error = error
        self.calls = 0

    def __call__(self, url, timeout):  # pylint: disable=unused-argument
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.document
