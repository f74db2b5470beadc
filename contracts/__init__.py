"""What must hold for the Invoicing API: the local validator, JSON Schemas, checks, targets and reports.

Only the model-level helpers are exported here; the CLI, targets and reporting are imported where used, so
importing `contracts` (as the emulator does) stays cheap and free of cycles.
"""

from contracts.validation.validate import Problem, validate_request
from contracts.validation.schemas import json_schema

__all__ = ["Problem", "validate_request", "json_schema"]
