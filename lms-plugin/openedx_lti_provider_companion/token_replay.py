"""Single use of login tokens: the first login with a given jti wins, every later one is refused."""
import hashlib
from datetime import datetime, timedelta, timezone

from django.db import IntegrityError, transaction

from .errors import LoginRefused
from .models import UsedLoginToken


def token_hash(issuer, jti):
    return hashlib.sha256(f"{issuer}\n{jti}".encode("utf-8")).hexdigest()


def consume(issuer, jti, expires_at, clock_skew, now):
    """
    Record the token as used, or raise COMPANION_TOKEN_REPLAYED. ``expires_at`` and ``now()`` are
    epoch seconds; the row is kept until the token could no longer pass the expiry check.
    """
    current = datetime.fromtimestamp(now(), timezone.utc)
    # Housekeeping on the way: an index range delete of rows nobody can replay any more.
    UsedLoginToken.objects.filter(expires_at__lt=current).delete()
    try:
        # A savepoint, so a duplicate does not break a transaction the LMS may have open.
        with transaction.atomic():
            UsedLoginToken.objects.create(
                token_hash=token_hash(issuer, jti),
                expires_at=datetime.fromtimestamp(expires_at, timezone.utc) + timedelta(seconds=clock_skew),
            )
    except IntegrityError:
        raise LoginRefused("COMPANION_TOKEN_REPLAYED") from None
