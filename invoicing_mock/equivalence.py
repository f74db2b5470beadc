"""Which payloads are the same request, for the idempotency token's comparison (docs/bases.md, item "payload
comparison").

A reused token with an equivalent payload is a replay, not a conflict. Two sources make payloads equivalent, and
each rule below names its source:
- the model: a top-level input member of a primitive shape without `box` has a zero default (Smithy IDL 1.0), so
  omitting it and sending its zero are one request (read from the installed model, nothing listed by hand);
- the model's documentation strings (AWS's API reference text), quoted exactly in DOCUMENTED and checked against
  the installed model at import, so a model update that drops the sentence fails here rather than silently.
Nothing else in the Invoicing model qualifies: no other member documents a default among the token-bearing
operations, and the only list the documentation describes as a set is an invoice unit's accounts.

`canonical(operation, params)` is the payload the token is compared by (`BackendBase.fingerprint_of`);
`Behaviour.payload_comparison == "bytes"` compares the payload as sent instead. The suite's side of the same table
is contracts/packs/bases.json (`equivalences`); a unit test keeps the two equal.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from strategies import botocore_session, service_model, token_members

_ZERO = {"boolean": False, "integer": 0, "long": 0, "float": 0.0, "double": 0.0}


@dataclass(frozen=True)
class Rule:
    operation: str
    member: str  # dotted path from the request's top level
    kind: str  # default: omitted == sent as `value`; set: the list's order does not matter
    value: Any = None
    source: str = ""  # model | the documentation string's location (Shape, Shape.Member)
    quote: str = ""


_INVOICE_UNIT_IS_A_SET = "An invoice unit is a set of mutually exclusive accounts that correspond to your business entity."
_DEFAULTS_TO_FALSE = "Defaults to false if not provided."

#: Equivalences the documentation states (the quote, exactly, and where in the model it is).
DOCUMENTED = (
    Rule("CreateProcurementPortalPreference", "MarketplacePunchOutEnabled", "default", False,
         "CreateProcurementPortalPreferenceRequest.MarketplacePunchOutEnabled", _DEFAULTS_TO_FALSE),
    Rule("PutProcurementPortalPreference", "MarketplacePunchOutEnabled", "default", False,
         "PutProcurementPortalPreferenceRequest.MarketplacePunchOutEnabled", _DEFAULTS_TO_FALSE),
    Rule("CreateInvoiceUnit", "Rule.LinkedAccounts", "set", None, "InvoiceUnit", _INVOICE_UNIT_IS_A_SET),
    Rule("UpdateInvoiceUnit", "Rule.LinkedAccounts", "set", None, "InvoiceUnit", _INVOICE_UNIT_IS_A_SET),
)


def _plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html or "")).strip()


def _documentation(source: str) -> str:
    model = service_model("invoicing")
    shape, _, member = source.partition(".")
    found = model.shape_for(shape)
    return _plain(found.members[member].documentation if member else found.documentation)


def model_defaults() -> tuple[Rule, ...]:
    """Top-level members of the token-bearing operations whose primitive shape has no `box`: their zero is
    their default."""
    raw = botocore_session().get_service_data("invoicing")
    out = []
    for operation, spec in raw["operations"].items():
        if "input" not in spec or not token_members(operation):
            continue
        for name, ref in raw["shapes"][spec["input"]["shape"]].get("members", {}).items():
            target = raw["shapes"][ref["shape"]]
            if target["type"] in _ZERO and not (ref.get("box") or target.get("box")):
                out.append(Rule(operation, name, "default", _ZERO[target["type"]], "model"))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def rules() -> tuple[Rule, ...]:
    """Every equivalence, each checked against the installed model (ValueError naming the one that no longer
    holds)."""
    for rule in DOCUMENTED:
        if rule.quote not in _documentation(rule.source):
            raise ValueError(f"invoicing_mock.equivalence: the model's documentation of {rule.source} no longer "
                             f"says {rule.quote!r}; remove or update the rule for {rule.operation}.{rule.member}")
    return model_defaults() + DOCUMENTED


def canonical(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` as the request it is: a member sent as its default dropped, a set-like list sorted."""
    out = copy.deepcopy(params)
    for rule in rules():
        if rule.operation != operation:
            continue
        *parents, last = rule.member.split(".")
        node: Any = out
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or last not in node:
            continue
        if rule.kind == "default" and node[last] == rule.value and type(node[last]) is type(rule.value):
            del node[last]
        elif rule.kind == "set" and isinstance(node[last], list):
            node[last] = sorted(node[last], key=lambda item: json.dumps(item, sort_keys=True))
    return out
