"""
Stand-in for the part of Tutor the plugin imports (``from tutor import hooks``), for tests that run
where Tutor is not installed (CI has no PyPI). See stand_in/tutor/hooks.py.
"""
