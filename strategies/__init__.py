"""Hypothesis strategies compiled from botocore service models: valid requests by construction, invalid
requests with exactly one labelled violation, pattern-ambiguous requests, and one-field mutations.

Generic over botocore services; Invoicing is the default. Unknown service or operation names raise
`UnknownName` listing what exists.
"""

from strategies._api import (
    ambiguous_requests,
    invalid_requests,
    mutations,
    requests,
    violation_sites,
)
from strategies._model import UnknownName
from strategies._mutations import Mutation
from strategies._patterns import Contradiction
from strategies._regex import UntranslatablePattern
from strategies._violations import AmbiguousRequest, InvalidRequest, Site, Violation
from strategies.hints import Hints

__all__ = [
    "requests", "invalid_requests", "violation_sites", "ambiguous_requests", "mutations",
    "InvalidRequest", "Violation", "AmbiguousRequest", "Site", "Mutation", "Hints",
    "UnknownName", "UntranslatablePattern", "Contradiction",
]
