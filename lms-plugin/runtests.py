#!/usr/bin/env python3
"""
Run the companion's tests on plain Django (Debian python3-django), without openedx-events,
opaque-keys or edx-platform: the thin import module is replaced by tests/openedx_stand_ins.py.

Prints a closing line ``lms-plugin: N passed, N failed`` and exits non-zero on any failure.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def install_stand_ins():
    import openedx_lti_provider_companion as package  # pylint: disable=import-outside-toplevel
    from tests import openedx_stand_ins  # pylint: disable=import-outside-toplevel

    sys.modules["openedx_lti_provider_companion.openedx_imports"] = openedx_stand_ins
    package.openedx_imports = openedx_stand_ins


def main(argv):
    sys.path.insert(0, HERE)
    os.chdir(HERE)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    install_stand_ins()

    import django  # pylint: disable=import-outside-toplevel
    from django.conf import settings  # pylint: disable=import-outside-toplevel
    from django.test.utils import get_runner  # pylint: disable=import-outside-toplevel

    django.setup()
    runner_class = get_runner(settings)
    runner = runner_class(verbosity=2 if "-v" in argv else 1, interactive=False)
    labels = [arg for arg in argv if not arg.startswith("-")] or ["tests"]

    runner.setup_test_environment()
    try:
        suite = runner.build_suite(labels)
        databases = runner.get_databases(suite)
        old_config = runner.setup_databases(aliases=databases)
        try:
            runner.run_checks(databases)
            result = runner.run_suite(suite)
        finally:
            runner.teardown_databases(old_config)
    finally:
        runner.teardown_test_environment()

    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped) + len(result.expectedFailures)
    passed = result.testsRun - failed - skipped
    line = f"lms-plugin: {passed} passed, {failed} failed"
    print(line + (f", {skipped} skipped" if skipped else ""))
    # No test run, or any skip, counts as failure: CI must not go green on an empty suite.
    return 0 if failed == 0 and skipped == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
