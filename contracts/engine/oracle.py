"""What the suite predicts a valid request may be refused for, from its own knowledge of the state.

A refusal of a valid request is explained only when it was predicted: the name is taken, an account is not a
member, a quota is reached, a pagination token was never issued, the resource is not one the suite knows to
exist, or a documented rule of the Billing user guide or of the model's documentation strings says so
(`documented_refusals`, each with its quote). An AccessDeniedException to the suite's own identity is never an
explanation: the oracle records the operation as denied (`denied`), and the suite reports it untested. Catch-all reasons (`invalidInput`, `other`) explain
nothing by themselves; a refusal nobody predicted is a violation.

The knowledge comes from the suite's own successful calls (every Api of the Suite reports to `observe`), from one
listing per resource kind when a test starts (`resync`: resources the fault tests made through other clients,
or a real account's own), and from what the read operations showed when the suite discovered identifiers
(`discover`). The oracle never asks the target whether a refusal was right: the rules are written here.

A prediction maps `Code` or `Code:reason` to why the suite expects it; `contracts.checks.builtin.unexplained`
explains a refusal only by one of these keys.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from contracts.calls import Call
from contracts.model.redaction import REDACTOR
from strategies import service_model, token_members

# Documented quotas (Billing user guide: 500 invoice units per management account). AWS documents none for
# procurement portal preferences: 100 is the emulator's published choice, so only reaching it explains a refusal.
UNITS_PER_PAYER = 500
PREFERENCES_PER_ACCOUNT = 100
ACCOUNTS_PER_RULE = 1000
# A resource's tags: the model's ResourceTagList max (the emulator's quota). Reaching more than it explains a
# ServiceQuotaExceededException of TagResource; exactly it does not.
TAGS_PER_RESOURCE = service_model().shape_for("ResourceTagList").metadata["max"]
NEXT_TOKEN_REASONS = ("invalidNextToken", "expiredNextToken")
DENIED = "AccessDeniedException"


def _preference_identity_members() -> tuple[str, ...]:
    """What identifies a preference: the members Create takes and Put cannot change (portal, buyer, supplier)."""
    model = service_model()
    create = model.operation_model("CreateProcurementPortalPreference").input_shape.members
    put = model.operation_model("PutProcurementPortalPreference").input_shape.members
    return tuple(m for m in create if m not in put and m not in ("ResourceTags", "ClientToken"))


@dataclass
class Unit:
    name: str
    receiver: str
    linked: frozenset[str] = frozenset()
    bill_sources: frozenset[str] = frozenset()


@dataclass
class Knowledge:
    """One account's resources as the suite knows them."""

    units: dict[str, Unit] = field(default_factory=dict)  # ARN -> unit
    preferences: dict[str, tuple] = field(default_factory=dict)  # ARN -> identity
    other_live: set[str] = field(default_factory=set)  # other ARNs the suite made and has not deleted
    tags: dict[str, set[str]] = field(default_factory=dict)  # ARN -> the tag keys the suite put and left there


def _rule_accounts(rule: dict | None) -> tuple[frozenset[str], frozenset[str]]:
    rule = rule or {}
    return frozenset(rule.get("LinkedAccounts") or ()), frozenset(rule.get("BillSourceAccounts") or ())


def _arns_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_arns_in(v) for v in value.values())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*(_arns_in(v) for v in value)) if value else set()
    return {value} if isinstance(value, str) and value.startswith("arn:") else set()


class Oracle:
    def __init__(self, payer: str, members: Iterable[str], *, rate_limited: bool = False,
                 validation_code: Callable[[str, str], str | None] | None = None):
        self.payer = payer
        self.members = frozenset(members) | {payer}
        self.rate_limited = rate_limited  # a real service throttles at will: ThrottlingException is predicted
        self.validation_code = validation_code or (lambda account, arn: None)
        self.accounts: dict[str, Knowledge] = {}
        self.issued_tokens: set[str] = set()
        self.invoices: set[str] = set()  # invoice IDs a listing showed
        self.portals: set[str] = set()  # portal identifiers a listing showed
        self.identity = _preference_identity_members()
        self._tokens: set[tuple] = set()  # (operation, token, account) of successful calls: their replays
        # Operations the target refused the payer's identity with AccessDeniedException (an IAM gap, a preview
        # API not enabled for the account) -> its message. Never predicted as an explanation: what the suite
        # cannot send with this identity is untested with this reason (Suite.denial), not held.
        self.denied: dict[str, str] = {}

    def _of(self, account: str | None) -> Knowledge:
        return self.accounts.setdefault(account or self.payer, Knowledge())

    def organization(self, account: str | None) -> frozenset[str]:
        """The accounts an account's organisation holds: the payer's are known; another account stands alone."""
        return self.members if (account or self.payer) == self.payer else frozenset({account})

    # -- learning ------------------------------------------------------------------------------------------------
    def observe(self, call: Call) -> None:
        """Every call of the suite's Apis: successful ones change what the suite knows."""
        outcome = call.outcome
        if not outcome.ok:
            if outcome.error_code == DENIED and (call.account or self.payer) == self.payer:
                self.denied.setdefault(call.operation, REDACTOR.scrub(outcome.error_message)[:300] or DENIED)
            return
        response = outcome.response or {}
        if response.get("NextToken"):
            self.issued_tokens.add(response["NextToken"])
        known, params = self._of(call.account), call.params
        op = call.operation
        if self._replayed(call):
            return  # a replay answers with the first result and has no effect of its own
        self._observe_tags(known, op, params, response)
        if op == "CreateInvoiceUnit" and response.get("InvoiceUnitArn"):
            linked, sources = _rule_accounts(params.get("Rule"))
            known.units[response["InvoiceUnitArn"]] = Unit(params.get("Name"), params.get("InvoiceReceiver"),
                                                           linked, sources)
        elif op == "UpdateInvoiceUnit" and "Rule" in params and params.get("InvoiceUnitArn") in known.units:
            unit = known.units[params["InvoiceUnitArn"]]
            unit.linked, unit.bill_sources = _rule_accounts(params.get("Rule"))
        elif op == "DeleteInvoiceUnit":
            known.units.pop(params.get("InvoiceUnitArn"), None)
        elif op == "CreateProcurementPortalPreference" and response.get("ProcurementPortalPreferenceArn"):
            known.preferences[response["ProcurementPortalPreferenceArn"]] = self._identity_of(params)
        elif op == "DeleteProcurementPortalPreference":
            known.preferences.pop(params.get("ProcurementPortalPreferenceArn"), None)
        elif op == "ListInvoiceSummaries":
            self.invoices.update(i["InvoiceId"] for i in response.get("InvoiceSummaries", []) if i.get("InvoiceId"))
        elif op == "ListProcurementPortals":
            self.portals.update(p["PortalIdentifier"] for p in response.get("ProcurementPortals", [])
                                if p.get("PortalIdentifier"))

    @staticmethod
    def _observe_tags(known: Knowledge, op: str, params: dict, response: dict) -> None:
        keys = {tag.get("Key") for tag in params.get("ResourceTags") or () if isinstance(tag, dict)}
        if op.startswith("Create"):
            arn = next((v for k, v in response.items() if k.endswith("Arn") and isinstance(v, str)), None)
            if arn:
                known.tags[arn] = keys
        elif op == "TagResource":
            known.tags.setdefault(params.get("ResourceArn"), set()).update(keys)
        elif op == "UntagResource":
            known.tags.get(params.get("ResourceArn"), set()).difference_update(params.get("ResourceTagKeys") or ())
        elif op.startswith("Delete"):
            for arn in _arns_in(params):
                known.tags.pop(arn, None)

    def _replayed(self, call: Call) -> bool:
        members = token_members(service_model().operation_model(call.operation))
        if not members:
            return False
        token = call.params.get(members[0])
        if token is None and call.outcome.sent_body:  # botocore filled it in
            try:
                token = json.loads(call.outcome.sent_body).get(members[0])
            except (ValueError, AttributeError):
                token = None
        if token is None:
            return False
        key = (call.operation, token, call.account)
        seen = key in self._tokens
        self._tokens.add(key)
        return seen

    def _identity_of(self, item: dict) -> tuple:
        return tuple(item.get(name) for name in self.identity)

    def resync(self, account: str | None, units: Iterable[dict] | None, preferences: Iterable[dict] | None) -> None:
        """Start a test from the listings: resources made through other clients (fault tests, a real account's
        own) are known too; what the suite knew and the listing lacks is gone."""
        known = self._of(account)
        if units is not None:
            known.units = {}
            for item in units:
                linked, sources = _rule_accounts(item.get("Rule"))
                known.units[item["InvoiceUnitArn"]] = Unit(item.get("Name"), item.get("InvoiceReceiver"),
                                                           linked, sources)
        if preferences is not None:
            known.preferences = {item["ProcurementPortalPreferenceArn"]: self._identity_of(item)
                                 for item in preferences}

    def live(self, account: str | None) -> set[str]:
        known = self._of(account)
        return set(known.units) | set(known.preferences) | known.other_live

    # -- predicting ----------------------------------------------------------------------------------------------
    def predict(self, operation: str, params: dict, *, account: str | None = None,
                live: Iterable[str] = ()) -> dict[str, str]:
        """The refusals a valid `params` of `operation` may get in the state the suite knows, and why."""
        out: dict[str, str] = {}
        account = account or self.payer
        known = self._of(account)
        live_now = self.live(account) | set(live)
        if self.rate_limited:
            out["ThrottlingException"] = "a real service throttles at will"
        token = params.get("NextToken")
        if token is not None and token not in self.issued_tokens:
            for reason in NEXT_TOKEN_REASONS:
                out[f"ValidationException:{reason}"] = "the NextToken was never issued to this suite"
        self._predict_not_found(operation, params, live_now, out)
        if operation in ("CreateInvoiceUnit", "UpdateInvoiceUnit"):
            self._predict_unit_rules(operation, params, account, known, out)
        elif operation == "TagResource":
            keys = {t.get("Key") for t in params.get("ResourceTags") or () if isinstance(t, dict)}
            held = known.tags.get(params.get("ResourceArn"), set())
            if len(held | keys) > TAGS_PER_RESOURCE:
                out["ServiceQuotaExceededException"] = (f"the resource would hold {len(held | keys)} tag keys, "
                                                        f"over {TAGS_PER_RESOURCE}")
        elif operation == "BatchGetInvoiceProfile":
            outsiders = sorted(set(params.get("AccountIds") or ()) - self.organization(account))
            if outsiders:
                out["ValidationException:nonMemberPresent"] = f"{outsiders[0]} is not in the organisation"
        elif operation == "CreateProcurementPortalPreference":
            identity = self._identity_of(params)
            taken = [arn for arn, ident in known.preferences.items() if ident == identity]
            if taken:
                out["ConflictException"] = f"a preference for this portal, buyer and supplier exists: {taken[0]}"
            if len(known.preferences) >= PREFERENCES_PER_ACCOUNT:
                out["ServiceQuotaExceededException"] = f"{len(known.preferences)} preferences exist"
        if operation in ("ListInvoiceSummaries", "CreateProcurementPortalPreference",
                         "PutProcurementPortalPreference"):
            portal = params.get("ProcurementPortalName")
            if operation == "PutProcurementPortalPreference":
                stored = known.preferences.get(params.get("ProcurementPortalPreferenceArn"))
                portal = stored[self.identity.index("ProcurementPortalName")] if stored else None
            for why in documented_refusals(operation, params, portal):
                out.setdefault("ValidationException:invalidInput", why)
        if operation == "VerifyProcurementPortalValidation":
            arn = params.get("ProcurementPortalPreferenceArn")
            code = self.validation_code(account, arn) if arn else None
            if code is None or params.get("Code") != code:
                out["ValidationException:invalidInput"] = ("the Code is not the one the last "
                                                           "SendProcurementPortalValidation issued")
        return out

    def _predict_not_found(self, operation: str, params: dict, live: set[str], out: dict[str, str]) -> None:
        why = None
        if params.get("AsOf") is not None:
            why = "AsOf reads the past: the resource may not have existed then"
        elif operation == "GetInvoicePDF":
            if params.get("InvoiceId") not in self.invoices:
                why = "the InvoiceId is not one a listing showed"
        elif operation == "ListInvoiceSummaries":
            selector = params.get("Selector") or {}
            kind, value = selector.get("ResourceType"), selector.get("Value")
            known = self.members if kind == "ACCOUNT_ID" else self.invoices if kind == "INVOICE_ID" else set()
            if value not in known:
                why = f"the selector's {kind} {value!r} is not one the suite knows to exist"
        elif operation == "ListProcurementPortalSuppliers":
            if params.get("PortalIdentifier") not in self.portals:
                why = "the PortalIdentifier is not one ListProcurementPortals showed"
        else:
            unknown = sorted(_arns_in(params) - live)
            if unknown:
                why = f"{unknown[0]} is not a resource the suite knows to be live"
        if why:
            out["ResourceNotFoundException"] = why

    def _predict_unit_rules(self, operation: str, params: dict, account: str, known: Knowledge,
                            out: dict[str, str]) -> None:
        """The invoice unit rules of the Billing user guide (the emulator's docstring lists them too)."""
        own = params.get("InvoiceUnitArn") if operation == "UpdateInvoiceUnit" else None
        others = {arn: u for arn, u in known.units.items() if arn != own}
        if operation == "CreateInvoiceUnit":
            receiver = params.get("InvoiceReceiver")
            if any(u.name == params.get("Name") for u in others.values()):
                out["ValidationException:duplicateInvoiceUnit"] = f"a live unit is named {params.get('Name')!r}"
            if len(known.units) >= UNITS_PER_PAYER:
                out["ValidationException:maxInvoiceUnitsExceeded"] = f"{len(known.units)} units exist"
        else:
            if "Rule" not in params:
                return
            unit = known.units.get(own)
            if unit is None:
                return  # not found, predicted above
            receiver = unit.receiver
        linked, sources = _rule_accounts(params.get("Rule"))
        outsiders = sorted(({receiver} | linked) - self.organization(account))
        if outsiders:
            out["ValidationException:nonMemberPresent"] = f"{outsiders[0]} is not in the organisation"
        if len(linked | sources) > ACCOUNTS_PER_RULE:
            out["ValidationException:maxAccountsExceeded"] = f"the rule names {len(linked | sources)} accounts"
        taken = sorted(a for a in linked if any(a in u.linked for u in others.values()))
        taken += sorted(a for a in sources if any(a in u.bill_sources for u in others.values()))
        if taken:
            out["ValidationException:accountMembershipError"] = f"{taken[0]} is in another unit's rule"
        # An account linked in one unit cannot receive another unit unless it also receives the unit it is
        # linked in; and an account receiving a unit can be linked only in a unit it receives.
        clash = [f"the receiver {receiver} is linked in a unit it does not receive"
                 for u in others.values() if receiver in u.linked and u.receiver != receiver]
        clash += [f"{a} receives another unit" for a in linked if a != receiver
                  and any(u.receiver == a for u in others.values())]
        if clash:
            out["ValidationException:mutualExclusionError"] = clash[0]


# -- rules the model's documentation strings state (AWS's API reference text; the emulator enforces them too, in
# invoicing_mock/models/documented_rules.py, written separately). Where the text leaves a boundary open, these
# predict a refusal on either reading of it (a prediction says "may be refused"): "one month" from 28 days on,
# "5 years" from 5 x 365 days on, "before 2025-06-01" up to a day later (time zones).
DAY = _dt.timedelta(days=1)
# Values the strategies draw for these URL members (the model allows any \S+): mostly within the documented
# rules (an HTTPS endpoint; a redirect on its host), one of each breaking one, so the rules are exercised and
# most requests still succeed. A target's own hints (TargetConfig.hints) replace them.
DOCUMENTED_HINTS = {
    "ProcurementPortalInstanceEndpoint": ["https://portal.example.com/invoices", "https://portal.example.com:8443/b2b",
                                          "http://portal.example.com/invoices"],
    "ApprovalRequestRedirectUrl": ["https://portal.example.com/approvals", "https://portal.example.com/po",
                                   "https://elsewhere.example.net/approvals"],
}
_HTTPS_URL = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]+)?([/?#]\S*)?", re.IGNORECASE)
_QUOTES = {
    "from": '"Data is available starting 2025-06-01 . Queries for periods before 2025-06-01 return a validation '
            'error." (InvoiceSummariesFilter.ReceiverRole)',
    "5y": '"TimeInterval supports a time interval of up to 5 years." (InvoiceSummariesFilter.ReceiverRole)',
    "1m": '"Without ReceiverRole , TimeInterval is limited to one month." (InvoiceSummariesFilter.ReceiverRole)',
    "https": '"Must be a valid HTTPS URL." (ProcurementPortalInstanceEndpoint)',
    "coupa": '"This is only supported for Coupa." (MarketplacePunchOutPreference.ApprovalRequestRedirectUrl)',
    "host": '"When provided together with the procurement portal instance endpoint, its host must match the host of '
            'that endpoint." (MarketplacePunchOutPreference.ApprovalRequestRedirectUrl)',
    "required": '"Required [for Coupa] when MarketplacePunchOutEnabled is true." (MarketplacePunchOutPreference)',
}


def _when(value: Any) -> _dt.datetime | None:
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    try:
        return _dt.datetime.fromtimestamp(float(value), _dt.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _host(url: Any) -> str | None:
    try:
        return urlsplit(str(url)).hostname
    except ValueError:
        return None


def documented_refusals(operation: str, params: dict, portal: str | None) -> list[str]:
    """Why a documented rule may refuse this otherwise valid request (the quote; empty: none does). `portal` is
    the preference's ProcurementPortalName (None: unknown, so the Coupa-only rules may refuse)."""
    out = []
    if operation == "ListInvoiceSummaries":
        filter_ = params.get("Filter") or {}
        interval = filter_.get("TimeInterval") or {}
        start, end = _when(interval.get("StartDate")), _when(interval.get("EndDate"))
        span = end - start if start is not None and end is not None else None
        if filter_.get("ReceiverRole") is not None:
            period = filter_.get("BillingPeriod") or {}
            if start is not None and start < _dt.datetime(2025, 6, 2, tzinfo=_dt.timezone.utc) or \
                    period and (period.get("Year"), period.get("Month")) < (2025, 6):
                out.append(_QUOTES["from"])
            if span is not None and span > 5 * 365 * DAY:
                out.append(_QUOTES["5y"])
        elif span is not None and span > 28 * DAY:
            out.append(_QUOTES["1m"])
        return out
    endpoint = params.get("ProcurementPortalInstanceEndpoint")
    if endpoint is not None and not _HTTPS_URL.fullmatch(str(endpoint)):
        out.append(_QUOTES["https"])
    punch_out = params.get("MarketplacePunchOutPreference")
    redirect = (punch_out or {}).get("ApprovalRequestRedirectUrl")
    if redirect is not None and portal != "COUPA":
        out.append(_QUOTES["coupa"])
    if redirect is not None and endpoint is not None:
        hosts = _host(redirect), _host(endpoint)
        if None in hosts or hosts[0].lower() != hosts[1].lower():
            out.append(_QUOTES["host"])
    if params.get("MarketplacePunchOutEnabled") is True and punch_out is None and \
            (operation == "PutProcurementPortalPreference" or portal in ("COUPA", None)):
        out.append(_QUOTES["required"])
    return out
