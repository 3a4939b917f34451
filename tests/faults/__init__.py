"""Helpers for the fault, race and hostile-input tests (tests/test_faults_*.py, tests/test_hostile_*.py)."""
