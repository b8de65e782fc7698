"""Where to send the learner after login: a path on this LMS, never another site."""
from urllib.parse import urlsplit

from django.utils.http import url_has_allowed_host_and_scheme

DEFAULT_NEXT = "/"
MAX_NEXT_LENGTH = 2048


def safe_next_path(candidate):
    """
    ``candidate`` if it is a same-host relative path, else ``/``.

    Refused: absolute and scheme-relative URLs (``https://x``, ``//x``), backslashes (browsers read
    ``/\\x`` as ``//x``), control characters and whitespace (``/\\t/x`` is ``//x`` once the tab is
    stripped), and anything not starting with ``/`` (``javascript:...``, relative paths).
    """
    if not isinstance(candidate, str) or not candidate or len(candidate) > MAX_NEXT_LENGTH:
        return DEFAULT_NEXT
    if not candidate.startswith("/") or candidate.startswith("//"):
        return DEFAULT_NEXT
    if "\\" in candidate or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in candidate):
        return DEFAULT_NEXT
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc:
        return DEFAULT_NEXT
    # Django's own open-redirect check as a second opinion; no host is allowed, so only relative URLs pass.
    if not url_has_allowed_host_and_scheme(candidate, allowed_hosts=set()):
        return DEFAULT_NEXT
    return candidate
