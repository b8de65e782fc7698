"""
Verification of the one-time login token the tool service signs (src/launch/handoff.ts, token mode):
RS256 JWT, ``iss`` = the tool's PUBLIC_URL, ``aud`` = the LMS origin, ``sub`` = LMS username,
``lms_user_id``, ``next``, ``iat``, ``exp`` = iat + 60, ``jti``.

PyJWT checks the signature (RS256 only), issuer and audience. Time claims are checked here against
an injectable clock with one skew allowance for both directions. Single use (``jti``) is the caller's
next step (token_replay.py), once everything else has passed.
"""
import math
import numbers

import attr
import jwt

from .errors import LoginRefused

ALGORITHM = "RS256"
MAX_TOKEN_LENGTH = 8 * 1024
MAX_JTI_LENGTH = 255
MAX_USERNAME_LENGTH = 150  # Django's username column
REQUIRED_CLAIMS = ("iss", "aud", "sub", "iat", "exp", "jti")


@attr.s(frozen=True)
class VerifiedToken:
    username = attr.ib(type=str)
    lms_user_id = attr.ib()  # int, or None when the tool did not send it
    next_path = attr.ib()  # str, or None
    jti = attr.ib(type=str)
    issuer = attr.ib(type=str)
    expires_at = attr.ib(type=float)  # epoch seconds


class TokenVerifier:
    def __init__(self, key_for, issuer, audience, clock_skew, max_lifetime, now):
        """
        key_for(kid) -> public key (raises LoginRefused); now() -> epoch seconds.
        """
        self._key_for = key_for
        self._issuer = issuer
        self._audience = audience
        self._skew = clock_skew
        self._max_lifetime = max_lifetime
        self._now = now

    def verify(self, token):
        if not token:
            raise LoginRefused("COMPANION_TOKEN_MISSING")
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            raise LoginRefused("COMPANION_TOKEN_MALFORMED", "token too long")
        header = self._header(token)
        key = self._key_for(header.get("kid"))
        claims = self._decode(token, key)
        return self._checked(claims)

    @staticmethod
    def _header(token):
        try:
            header = jwt.get_unverified_header(token)
        except jwt.exceptions.DecodeError:
            raise LoginRefused("COMPANION_TOKEN_MALFORMED", "undecodable header") from None
        except jwt.exceptions.InvalidTokenError as exc:
            # PyJWT >= 2.6 already checks the header here (an unsupported `crit` raises the base
            # InvalidTokenError, not DecodeError): any header it refuses is a malformed token.
            raise LoginRefused("COMPANION_TOKEN_MALFORMED", exc.__class__.__name__) from None
        # Decide on the algorithm before any key is touched: "none", HS256 with the public key as
        # secret, and every other alg confusion end here.
        if header.get("alg") != ALGORITHM:
            raise LoginRefused("COMPANION_TOKEN_ALG_NOT_ALLOWED", f"alg {str(header.get('alg'))[:16]!r}")
        if "crit" in header:
            raise LoginRefused("COMPANION_TOKEN_MALFORMED", "critical header extensions are not supported")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise LoginRefused("COMPANION_TOKEN_MALFORMED", "kid is not a string")
        return header

    def _decode(self, token, key):
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.exceptions.InvalidSignatureError:
            raise LoginRefused("COMPANION_TOKEN_SIGNATURE_INVALID") from None
        except jwt.exceptions.InvalidAlgorithmError:
            raise LoginRefused("COMPANION_TOKEN_ALG_NOT_ALLOWED") from None
        except jwt.exceptions.MissingRequiredClaimError as exc:
            raise LoginRefused("COMPANION_TOKEN_CLAIMS_INVALID", f"missing {exc.claim}") from None
        except jwt.exceptions.InvalidIssuerError:
            raise LoginRefused("COMPANION_TOKEN_ISSUER_INVALID") from None
        except jwt.exceptions.InvalidAudienceError:
            raise LoginRefused("COMPANION_TOKEN_AUDIENCE_INVALID") from None
        except jwt.exceptions.InvalidTokenError as exc:
            raise LoginRefused("COMPANION_TOKEN_MALFORMED", exc.__class__.__name__) from None

    def _checked(self, claims):
        now = self._now()
        iat, exp = _number(claims, "iat"), _number(claims, "exp")
        if exp <= iat:
            raise LoginRefused("COMPANION_TOKEN_CLAIMS_INVALID", "exp not after iat")
        if now >= exp + self._skew:
            raise LoginRefused("COMPANION_TOKEN_EXPIRED")
        if iat > now + self._skew:
            raise LoginRefused("COMPANION_TOKEN_NOT_YET_VALID", "iat in the future")
        if "nbf" in claims and _number(claims, "nbf") > now + self._skew:
            raise LoginRefused("COMPANION_TOKEN_NOT_YET_VALID", "nbf in the future")
        if exp - iat > self._max_lifetime:
            raise LoginRefused("COMPANION_TOKEN_LIFETIME_TOO_LONG")
        return VerifiedToken(
            username=_text(claims, "sub", MAX_USERNAME_LENGTH),
            lms_user_id=_optional_user_id(claims.get("lms_user_id")),
            next_path=_optional_text(claims, "next"),
            jti=_text(claims, "jti", MAX_JTI_LENGTH),
            issuer=claims["iss"],
            expires_at=float(exp),
        )


def _number(claims, name):
    value = claims[name]
    # json.loads accepts NaN and Infinity, which would slip through every comparison.
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise LoginRefused("COMPANION_TOKEN_CLAIMS_INVALID", f"{name} is not a number")
    return value


def _text(claims, name, max_length):
    value = claims[name]
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise LoginRefused("COMPANION_TOKEN_CLAIMS_INVALID", f"{name} is not a usable string")
    return value


def _optional_text(claims, name):
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise LoginRefused("COMPANION_TOKEN_CLAIMS_INVALID", f"{name} is not a string")
    return value


def _optional_user_id(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise LoginRefused("COMPANION_TOKEN_CLAIMS_INVALID", "lms_user_id is not an integer")
    return value
