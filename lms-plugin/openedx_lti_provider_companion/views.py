"""
POST (or GET, for links) /lti-provider/login with ``token`` and ``next``: the end of the tool
service's ``token`` handoff. Verifies the token, logs its user in, redirects to a same-host page.

CSRF-exempt on purpose: the request comes from an auto-submitting form on the tool's origin, and the
signed single-use token is what proves it. Frameable, like the LMS's /xblock view, because launches
often run inside the platform's iframe; the page holds nothing to click. GET puts the token in access
logs; the tool POSTs.
"""
import logging
import time

from django.contrib.auth import login
from django.http import HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import conf, jwks, openedx_imports, token_replay
from .error_page import error_response
from .errors import LoginRefused
from .login_backend import backend_for
from .next_path import safe_next_path
from .token_users import user_for
from .token_verifier import TokenVerifier

log = logging.getLogger(__name__)


@csrf_exempt
@xframe_options_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def token_login(request):
    params = request.POST if request.method == "POST" else request.GET
    try:
        token, user, backend = _verified_user(request, params.get("token", ""))
    except LoginRefused as refusal:
        # Code and a token-free detail only; the username is not logged (PII).
        log.warning("Token login refused: %s (%s)", refusal.code, refusal.detail or "-")
        return _no_referrer(error_response(refusal))

    # The signed claim wins over the unsigned form field; both must stay on this host.
    destination = safe_next_path(token.next_path if token.next_path is not None else params.get("next"))
    openedx_imports.mark_user_change_as_expected(user.pk)
    login(request, user, backend=backend)
    log.info("Token login for user %s", user.pk)
    response = HttpResponseRedirect(destination)
    return _no_referrer(openedx_imports.set_logged_in_cookies(request, response, user))


def _verified_user(request, raw_token):
    issuer = conf.issuer()
    if not issuer:
        raise LoginRefused("COMPANION_NOT_CONFIGURED", "LTI_PROVIDER_ISSUER not set")
    skew = conf.get("LTI_PROVIDER_CLOCK_SKEW_SECONDS")
    # Checked before the key set is consulted, so an empty request never causes a JWKS fetch.
    if not raw_token:
        raise LoginRefused("COMPANION_TOKEN_MISSING")
    verifier = TokenVerifier(
        key_for=jwks.key_set().key_for,
        issuer=issuer,
        audience=conf.audience(request),
        clock_skew=skew,
        max_lifetime=conf.get("LTI_PROVIDER_TOKEN_MAX_LIFETIME_SECONDS"),
        now=time.time,
    )
    token = verifier.verify(raw_token)
    user = user_for(token)
    backend = backend_for(user)
    # Last, so a token refused for any other reason is not burnt.
    token_replay.consume(token.issuer, token.jti, token.expires_at, skew, now=time.time)
    return token, user, backend


def _no_referrer(response):
    # A GET login URL carries the token; the next page must not pass it on as Referer.
    response["Referrer-Policy"] = "no-referrer"
    return response
