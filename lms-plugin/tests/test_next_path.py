"""Only same-host relative paths survive as the post-login destination."""
from django.test import SimpleTestCase

from openedx_lti_provider_companion.next_path import safe_next_path


class SafeNextPath(SimpleTestCase):
    def test_same_host_paths_are_kept(self):
        for path in (
            "/",
            "/xblock/block-v1:edX+DemoX+Demo_Course+type@problem+block@p1?show_title=0&view=student_view",
            "/courses/course-v1:edX+DemoX+Demo_Course/jump_to/block-v1:edX+DemoX+Demo_Course+type@problem+block@p1",
            "/dashboard#top",
            "/path/%2F%2Fencoded",
        ):
            with self.subTest(path=path):
                self.assertEqual(safe_next_path(path), path)

    def test_anything_else_goes_home(self):
        for value in (
            None, "", 42,
            "https://evil.example/", "HTTPS://evil.example", "//evil.example", "///evil.example",
            "/\\evil.example", "\\\\evil.example", "/a\\b", "/\t/evil.example", "/\n/evil.example",
            " /dashboard", "/dash board", "/\x00", "/\x7f",
            "javascript:alert(1)", "evil.example/path", "dashboard", "http:/evil.example",
            "/" + "a" * 2048,
        ):
            with self.subTest(value=value):
                self.assertEqual(safe_next_path(value), "/")
