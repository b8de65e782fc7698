"""
Stand-in for openedx_lti_provider_companion/openedx_imports.py, installed in its place by
runtests.py: the smallest behaviour of openedx-events, opaque-keys and edx-platform the companion
relies on. test_thin_import.py keeps the exported names and signatures in step with the real module.
"""
import re

from django.dispatch import Signal


class InvalidKeyError(Exception):
    pass


class _Key:
    PATTERNS = ()

    def __init__(self, serialized):
        self._serialized = serialized

    @classmethod
    def from_string(cls, serialized):
        if not any(re.fullmatch(pattern, serialized) for pattern in cls.PATTERNS):
            raise InvalidKeyError(serialized)
        return cls(serialized)

    def __str__(self):
        return self._serialized

    def __repr__(self):
        return f"{self.__class__.__name__}({self._serialized!r})"

    def __eq__(self, other):
        return type(other) is type(self) and str(other) == str(self)

    def __hash__(self):
        return hash((type(self).__name__, self._serialized))


_PART = r"[\w\-~.:]+"


class CourseKey(_Key):
    PATTERNS = (rf"course-v1:{_PART}\+{_PART}\+{_PART}", r"[^/+]+/[^/+]+/[^/+]+")


class UsageKey(_Key):
    PATTERNS = (rf"block-v1:{_PART}\+{_PART}\+{_PART}\+type@{_PART}\+block@[\w\-~.:%]+", r"i4x://.+")


class SenderValidationError(Exception):
    pass


class OpenEdxPublicSignal(Signal):
    """openedx_events.tooling.OpenEdxPublicSignal: registry by event type, validated send_event."""

    _mapping = {}

    def __init__(self, event_type, data, minor_version=0):
        self.init_data = data
        self.event_type = event_type
        self.minor_version = minor_version
        self.__class__._mapping[event_type] = self
        super().__init__()

    @classmethod
    def get_signal_by_type(cls, event_type):
        return cls._mapping[event_type]

    def send_event(self, send_robust=True, time=None, **kwargs):  # pylint: disable=unused-argument
        if set(kwargs) != set(self.init_data):
            raise SenderValidationError("mismatch between initialization data and send_event arguments")
        for key, data_class in self.init_data.items():
            if not isinstance(kwargs[key], data_class):
                raise SenderValidationError(f"'{key}' is not a {data_class.__name__}")
        metadata = {"event_type": self.event_type, "minorversion": self.minor_version, "time": time}
        return super().send(sender=None, metadata=metadata, **kwargs)


PROBLEM_WEIGHTED_SCORE_CHANGED = Signal()


def problem_weighted_score_changed_signal():
    return PROBLEM_WEIGHTED_SCORE_CHANGED


expected_user_changes = []


def mark_user_change_as_expected(user_id):
    expected_user_changes.append(user_id)


def set_logged_in_cookies(request, response, user):  # pylint: disable=unused-argument
    response.set_cookie("edxloggedin", "true")
    return response
