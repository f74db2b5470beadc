"""What the fault properties act on and how they count effects.

Faulted requests need a resource to act on (an update needs a live unit), and exactly-once needs the effects
counted from outside, through the read and list operations the contract data names:
  create  the resources List shows that were not there before (a second execution is a second resource)
  update  Version, where the read shows one, counts changes (a second execution is a second increment);
          otherwise the read must show the request's members (a second identical execution is invisible there)
  delete  the resource reads as ResourceNotFoundException afterwards
Known-good requests are built from the model (enum values read from it) with run-unique names, so what a fault
trial sends is valid and its first attempt succeeds; the payload is not what these properties vary.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

from contracts import validate_request
from contracts.calls import Outcome, comparable
from contracts.engine.session import Params, Suite, read_view
from contracts.packs.contract import TokenOperation
from strategies import service_model

FAULT_EFFECTS = ("create", "update", "delete")


def fault_operations(contract) -> list[TokenOperation]:
    """The token-bearing operations whose effect can be counted: creates, updates (status changes included),
    deletes. Send/VerifyProcurementPortalValidation (effect "action") are not among them."""
    return [op for op in contract.operations.values() if op.effect in FAULT_EFFECTS]


def _enum(shape: str, index: int = 0) -> str:
    values = service_model().shape_for(shape).enum
    return values[index % len(values)]


@dataclass
class Snapshot:
    arns: frozenset[str] = frozenset()  # creates: what List shows
    view: dict | None = None  # updates and deletes: what the read shows (None: not readable)
    read: Outcome | None = None


class Subjects:
    """Known-good requests, run-unique tokens and names, setups and effect counts for one suite run."""

    def __init__(self, suite: Suite):
        self.suite = suite
        self.run = uuid.uuid4().hex[:6]
        self._seq = itertools.count(1)

    def token(self, label: str = "t") -> str:
        return f"faults-{label}~{self.run}-{next(self._seq)}"

    def _unique(self) -> str:
        return f"faults {self.run} {next(self._seq)}"

    # -- requests -----------------------------------------------------------------------------------------
    def create_params(self, kind: str) -> Params:
        if kind == "InvoiceUnit":
            params = {"Name": self._unique(), "InvoiceReceiver": self.suite.target.payer, "Rule": {}}
        elif kind == "ProcurementPortalPreference":
            params = {
                "ProcurementPortalName": _enum("ProcurementPortalName"),
                "BuyerDomain": _enum("BuyerDomain"),
                "BuyerIdentifier": self._unique().replace(" ", "-"),
                "SupplierDomain": _enum("SupplierDomain"),
                "SupplierIdentifier": f"faults-supplier-{self.run}",
                "ProcurementPortalSharedSecret": "drawn-secret",  # swapped for a vault secret by prepare()
                "EinvoiceDeliveryEnabled": True,
                "PurchaseOrderRetrievalEnabled": False,
                "Contacts": [{"Name": "Fault Trial", "Email": "fault.trial@example.com"}],
            }
        else:
            raise LookupError(f"no known-good create request for resource kind {kind!r}; add one to "
                              f"contracts/faults_effects.py")
        return params

    def request(self, op: TokenOperation, arn: str | None, token: str, variant: int = 0) -> Params:
        """A known-good request for `op` on `arn`; another `variant` differs in one member."""
        if op.effect == "create":
            params = self.create_params(op.resource.kind)
        elif op.effect == "delete":
            params = {}
        elif op.name == "UpdateInvoiceUnit":
            params = {"Description": f"changed by a fault trial ({variant})"}
        elif op.name == "PutProcurementPortalPreference":
            params = {"EinvoiceDeliveryEnabled": True, "PurchaseOrderRetrievalEnabled": False,
                      "Contacts": [{"Name": f"Fault Trial {variant}", "Email": "fault.trial@example.com"}]}
        elif op.name == "UpdateProcurementPortalPreferenceStatus":
            params = {"EinvoiceDeliveryPreferenceStatus": _enum("ProcurementPortalPreferenceStatus", -1),
                      "EinvoiceDeliveryPreferenceStatusReason": f"set by a fault trial ({variant})"}
        else:
            raise LookupError(f"no known-good request for {op.name} ({op.effect}); add one to "
                              f"contracts/faults_effects.py")
        if arn is not None and op.effect != "create":
            params[op.resource.identifier] = arn
        params[op.token_member] = token
        prepared = self.suite.prepare(op.name, params)
        problems = validate_request(op.name, dict(prepared))
        if problems:
            raise ValueError(f"contracts/faults_effects.py builds an invalid {op.name} request for the installed "
                             f"model: {problems[0].path}: {problems[0].message}")
        return prepared

    def setup(self, op: TokenOperation) -> str | None:
        """A live resource for `op` to act on (None for a create), made with a request of its own."""
        if op.effect == "create":
            return None
        create = next(o for o in self.suite.contract.operations.values()
                      if o.resource.kind == op.resource.kind and o.effect == "create")
        params = self.request(create, None, self.token("setup"))
        outcome = self.suite.api().call(create.name, params, note=f"setup: a {op.resource.kind} to act on")
        if not outcome.ok:
            raise RuntimeError(f"fault trial setup: {create.name} with a known-good request failed: "
                               f"{outcome.summary()}")
        return outcome.response[create.response_identifier]

    # -- effects ------------------------------------------------------------------------------------------
    def snapshot(self, op: TokenOperation, arn: str | None, note: str = "") -> Snapshot:
        resource = op.resource
        if op.effect == "create":
            if note:  # one page, recorded so a reproduction shows what was there
                self.suite.api().call(resource.list, {}, note=note)
            listed, failed = self.suite.listed(resource)
            if failed is not None:
                raise RuntimeError(f"{resource.list} failed while counting effects: {failed.summary()}")
            return Snapshot(arns=frozenset(listed))
        read = self.suite.read(resource, arn, note=note, record=bool(note))
        return Snapshot(view=read_view(resource, read) if read.ok else None, read=read)

    def effects(self, op: TokenOperation, before: Snapshot, after: Snapshot, params: dict,
                result: dict | None) -> tuple[int | None, str]:
        """(number of effects, or None when the read cannot tell; what was seen)."""
        if op.effect == "create":
            new = sorted(after.arns - before.arns)
            returned = (result or {}).get(op.response_identifier)
            extra = "" if returned is None or returned in new else f"; the answer named {returned}, not among them"
            return len(new), f"{len(new)} new {op.resource.kind}{'s' * (len(new) != 1)} listed{extra}"
        if op.effect == "delete":
            if after.view is None and after.read is not None and \
                    after.read.error_code == "ResourceNotFoundException":
                return 1, "the resource is gone"
            return 0, f"the resource is still there ({after.read.summary() if after.read else '?'})"
        if before.view is None or after.view is None:
            return 0, f"the resource cannot be read ({(after.read or before.read).summary()})"
        if "Version" in before.view and "Version" in after.view:
            delta = after.view["Version"] - before.view["Version"]
            return delta, f"Version went from {before.view['Version']} to {after.view['Version']}"
        skip = {op.token_member, op.resource.identifier}
        shown = all(comparable(value) == comparable(after.view.get(name))
                    for name, value in params.items() if name not in skip and name in after.view)
        if shown:
            return 1, "the read shows the change (a second identical execution would not show)"
        return 0, "the read does not show the change"


def effect_words(effects: int | None) -> str:
    return "an unknown number of effects" if effects is None else f"{effects} effect{'s' * (effects != 1)}"
