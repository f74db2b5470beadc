"""What a run found, for CI and for people: results JSON, JUnit XML, behaviour documentation, and the one
failure formatter they share. Reporters read what the engine recorded (contracts.engine.results); they never
call a target."""

from contracts.reporting.documents import (
    behaviour_html,
    behaviour_markdown,
    environment_meta,
    summary_table,
    write_junit,
    write_reports,
    write_results_json,
)
from contracts.reporting.failures import Failure, Step, failure_record, format_failure, reproduction

__all__ = [
    "Failure", "Step", "failure_record", "format_failure", "reproduction", "behaviour_html", "behaviour_markdown",
    "environment_meta", "summary_table", "write_junit", "write_reports", "write_results_json",
]
