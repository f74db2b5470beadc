"""Hypothesis strategies compiled from botocore service models: valid requests by construction, invalid
requests with exactly one labelled violation, pattern-ambiguous requests, and one-field mutations.

Generic over botocore services; Invoicing is the default. Unknown service or operation names raise
`UnknownName` listing what exists. This module is the whole public interface: other packages import from
here, never from the `strategies._*` modules.
"""

from strategies._api import (
    ambiguous_requests,
    edge_requests,
    edge_sites,
    fixed_example,
    invalid_requests,
    mutations,
    requests,
    violation_sites,
)
from strategies._compile import pattern_strings, shape_kind, string_bounds
from strategies._describe import describe, quote_path_key
from strategies._facts import INT_BOUNDS, is_sensitive, sensitive_members, token_members
from strategies._model import UnknownName, botocore_session, operation_model, service_model
from strategies._mutations import Mutation
from strategies._patterns import Contradiction, PatternStrings
from strategies._regex import UntranslatablePattern, anchored, compiled, translate
from strategies._regex import _complement as complement_ranges, _merge as merge_ranges
from strategies._violations import AmbiguousRequest, InvalidRequest, Site, Violation
from strategies.hints import Hints

__all__ = [
    # strategies of requests
    "requests", "invalid_requests", "violation_sites", "ambiguous_requests", "mutations",
    # the coverage phase: every edge of the model, and draws that do not depend on the seed
    "edge_sites", "edge_requests", "fixed_example",
    "InvalidRequest", "Violation", "AmbiguousRequest", "Site", "Mutation", "Hints",
    # the model, read once for every consumer
    "service_model", "operation_model", "botocore_session", "token_members", "sensitive_members",
    "is_sensitive", "INT_BOUNDS",
    # patterns and bounds (validators and schemas read constraints the same way the strategies do)
    "translate", "compiled", "anchored", "pattern_strings", "PatternStrings", "shape_kind", "string_bounds",
    "describe", "quote_path_key", "merge_ranges", "complement_ranges",
    # errors
    "UnknownName", "UntranslatablePattern", "Contradiction",
]
