"""
Why a token login was refused: stable codes (shown on the error page and logged, for the operator's
troubleshooting table), HTTP status, and a learner-safe message. Nothing here ever contains the token.
"""


class LoginRefused(Exception):
    def __init__(self, code, detail=None):
        if code not in CODES:
            raise ValueError(f"unknown login error code {code}")
        super().__init__(code)
        self.code = code
        self.status, self.message = CODES[code]
        # For the log only: a short, token-free explanation (e.g. which claim was missing).
        self.detail = detail


_RETRY = "Please go back to your course and open the activity again."

CODES = {
    "COMPANION_TOKEN_MISSING": (400, "The sign-in link is incomplete. " + _RETRY),
    "COMPANION_TOKEN_MALFORMED": (400, "The sign-in link is damaged. " + _RETRY),
    "COMPANION_TOKEN_ALG_NOT_ALLOWED": (400, "The sign-in link is not signed the way this site requires. " + _RETRY),
    "COMPANION_TOKEN_CLAIMS_INVALID": (400, "The sign-in link lacks required information. " + _RETRY),
    "COMPANION_TOKEN_KEY_UNKNOWN": (403, "The sign-in link was signed with an unknown key. " + _RETRY),
    "COMPANION_TOKEN_SIGNATURE_INVALID": (403, "The sign-in link could not be verified. " + _RETRY),
    "COMPANION_TOKEN_ISSUER_INVALID": (403, "The sign-in link comes from a service this site does not trust."),
    "COMPANION_TOKEN_AUDIENCE_INVALID": (403, "The sign-in link was made for another site."),
    "COMPANION_TOKEN_EXPIRED": (403, "The sign-in link has expired. " + _RETRY),
    "COMPANION_TOKEN_NOT_YET_VALID": (403, "The sign-in link is not valid yet; check the server clocks. " + _RETRY),
    "COMPANION_TOKEN_LIFETIME_TOO_LONG": (403, "The sign-in link is valid for longer than this site allows."),
    "COMPANION_TOKEN_REPLAYED": (403, "The sign-in link has already been used. " + _RETRY),
    "COMPANION_USER_UNKNOWN": (403, "No account on this site matches the sign-in link."),
    "COMPANION_USER_MISMATCH": (403, "The account named in the sign-in link does not match this site's records."),
    "COMPANION_USER_INACTIVE": (403, "Your account on this site is not active yet."),
    "COMPANION_JWKS_UNAVAILABLE": (503, "The sign-in service cannot be reached right now. Please try again in a minute."),
    "COMPANION_NOT_CONFIGURED": (503, "Sign-in from the learning tool is not set up on this site."),
}
