"""
Token ids already used for a login. A unique row per token makes single use hold across all LMS
workers and hosts, which a per-process cache or a non-shared Django cache would not.
"""
from django.db import models


class UsedLoginToken(models.Model):
    """
    .. no_pii: stores a hash of the token's issuer and jti, nothing about the learner.
    """

    id = models.BigAutoField(primary_key=True)
    # sha256 of issuer + jti: fixed length for the unique index whatever the jti looks like.
    token_hash = models.CharField(max_length=64, unique=True)
    # The token is refused as expired after this moment anyway, so the row may go.
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "openedx_lti_provider_companion"

    def __str__(self):
        return f"UsedLoginToken {self.token_hash[:12]}"
