"""
The tool service's public keys, fetched from its JWKS endpoint and cached per process.

Only RSA signing keys of at least 2048 bits are kept. A token whose ``kid`` is not in the cache
triggers one early re-fetch (the tool rotated its key), at most every LTI_PROVIDER_JWKS_MIN_REFRESH_SECONDS.
If the endpoint is down, keys already cached keep working until the endpoint is back.
"""
import http.client
import json
import logging
import threading
import time
import urllib.request

from django.core.signals import setting_changed
from django.dispatch import receiver
from jwt.algorithms import RSAAlgorithm

from . import conf
from .errors import LoginRefused

log = logging.getLogger(__name__)

MAX_JWKS_BYTES = 256 * 1024
MIN_RSA_BITS = 2048
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")


def fetch_json(url, timeout):
    """GET a JSON document; any failure becomes OSError or ValueError."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (operator-configured URL)
            body = response.read(MAX_JWKS_BYTES + 1)
    except http.client.HTTPException as exc:  # e.g. IncompleteRead, which is no OSError
        raise OSError(str(exc)) from exc
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError("JWKS document too large")
    return json.loads(body.decode("utf-8"))


def usable_keys(document):
    """kid -> public key for every RSA signing key of the document; anything else is skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") != "RS256":
            continue
        if any(member in jwk for member in _PRIVATE_MEMBERS):
            log.warning("JWKS publishes a private RSA key (kid %s); ignoring it", jwk.get("kid"))
            continue
        try:
            key = RSAAlgorithm.from_jwk(jwk)
        except Exception:  # pylint: disable=broad-except  (PyJWT raises several types across versions)
            continue
        if key.key_size < MIN_RSA_BITS:
            continue
        keys[jwk.get("kid")] = key
    return keys


class KeySet:
    """Cache of one JWKS URL. ``fetch(url, timeout)`` returns the parsed document."""

    def __init__(self, url, fetch, timeout, ttl, min_refresh, clock=time.monotonic):
        self.url = url
        self._fetch = fetch
        self._timeout = timeout
        self._ttl = ttl
        self._min_refresh = min_refresh
        self._clock = clock
        self._lock = threading.Lock()
        self._keys = None
        self._fetched_at = None
        self._attempted_at = None

    def key_for(self, kid):
        """The public key for ``kid`` (None: the only key), or LoginRefused."""
        with self._lock:
            if self._keys is None:
                self._refresh()
            elif self._since(self._fetched_at) >= self._ttl and self._may_retry():
                self._refresh()
            key = self._pick(kid)
            if key is None and self._may_retry():
                self._refresh()
                key = self._pick(kid)
        if key is None:
            raise LoginRefused("COMPANION_TOKEN_KEY_UNKNOWN", "no usable JWKS key for this kid")
        return key

    def _pick(self, kid):
        if kid is None:
            # A token without kid is only unambiguous while exactly one key is published.
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _since(self, moment):
        return self._clock() - moment

    def _may_retry(self):
        # Unknown kids (forged or after a rotation) and an endpoint that is down must not turn
        # every login into a fetch.
        return self._since(self._attempted_at) >= self._min_refresh

    def _refresh(self):
        self._attempted_at = self._clock()
        try:
            keys = usable_keys(self._fetch(self.url, self._timeout))
        except (OSError, ValueError) as exc:
            log.warning("Could not fetch the tool's JWKS from %s: %s", self.url, exc.__class__.__name__)
            if self._keys is None:
                raise LoginRefused("COMPANION_JWKS_UNAVAILABLE", "JWKS fetch failed") from None
            return  # keep serving the keys we have
        self._keys = keys
        self._fetched_at = self._attempted_at


_key_sets = {}
_key_sets_lock = threading.Lock()


def key_set():
    """The process-wide KeySet for the configured JWKS URL."""
    url = conf.jwks_url()
    if not url:
        raise LoginRefused("COMPANION_NOT_CONFIGURED", "LTI_PROVIDER_ISSUER / LTI_PROVIDER_JWKS_URL not set")
    with _key_sets_lock:
        if url not in _key_sets:
            _key_sets[url] = KeySet(
                url,
                # Looked up at call time so the fetcher can be replaced in one place (tests, proxies).
                fetch=lambda u, t: fetch_json(u, t),
                timeout=conf.get("LTI_PROVIDER_JWKS_TIMEOUT_SECONDS"),
                ttl=conf.get("LTI_PROVIDER_JWKS_CACHE_SECONDS"),
                min_refresh=conf.get("LTI_PROVIDER_JWKS_MIN_REFRESH_SECONDS"),
            )
        return _key_sets[url]


@receiver(setting_changed)
def _forget_key_sets(setting, **kwargs):  # pylint: disable=unused-argument
    if setting.startswith("LTI_PROVIDER_"):
        with _key_sets_lock:
            _key_sets.clear()
