"""Scenario files: the analysts' tests of a procedure, run by `medflow test`."""

from handlers.scenarios.runner import Report, run_scenario, run_scenario_files

__all__ = ["Report", "run_scenario", "run_scenario_files"]
