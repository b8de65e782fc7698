"""The LMS account a verified token names."""
from django.contrib.auth import get_user_model

from . import conf
from .errors import LoginRefused


def user_for(token):
    User = get_user_model()
    try:
        user = User.objects.get(**{User.USERNAME_FIELD: token.username})
    except User.DoesNotExist:
        raise LoginRefused("COMPANION_USER_UNKNOWN") from None
    # Both identifiers must agree: if the account behind a username changed since the tool looked
    # it up (renamed, deleted and re-created), the login was meant for someone else.
    if token.lms_user_id is not None and token.lms_user_id != user.pk:
        raise LoginRefused("COMPANION_USER_MISMATCH", f"token user id differs from account {user.pk}")
    if not user.is_active and not conf.get("LTI_PROVIDER_ALLOW_INACTIVE_USERS"):
        raise LoginRefused("COMPANION_USER_INACTIVE", f"account {user.pk}")
    return user
