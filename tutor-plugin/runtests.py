#!/usr/bin/env python3
"""
Run the Tutor plugin's tests with Debian's python3 (jinja2, yaml) and shellcheck; no Tutor needed
(tests/stand_in stands in for tutor.hooks, tests/tutor_env.py renders as Tutor 21 does).

Prints a closing line ``tutor-plugin: N passed, N failed`` and exits non-zero on any failure,
skip or empty run.
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    sys.path.insert(0, HERE)
    os.chdir(HERE)
    loader = unittest.TestLoader()
    names = [arg for arg in argv if not arg.startswith("-")]
    suite = loader.loadTestsFromNames(names) if names else loader.discover("tests", top_level_dir=HERE)
    result = unittest.TextTestRunner(verbosity=2 if "-v" in argv else 1).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped) + len(result.expectedFailures)
    passed = result.testsRun - failed - skipped
    line = f"tutor-plugin: {passed} passed, {failed} failed"
    print(line + (f", {skipped} skipped" if skipped else ""))
    # No test run, or any skip, counts as failure: CI must not go green on an empty suite.
    return 0 if failed == 0 and skipped == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
