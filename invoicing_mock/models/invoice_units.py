"""Invoice units: one mixin of the backend (`InvoiceUnitsMixin`), the per-payer store with its indexes, and every
version of every unit for AsOf reads.

Rules and where they come from (the model states the shapes; the Billing user guide the rest). Invoice units are
managed by an organisation's payer account; a member account gets AccessDeniedException.
  unit names are unique among a payer's live units                       -> duplicateInvoiceUnit
  at most 500 live units per payer                                       -> maxInvoiceUnitsExceeded
  the receiver and every linked account must be organisation members     -> nonMemberPresent
  at most 1000 accounts per rule (LinkedAccounts and BillSourceAccounts together; each list alone is already
    capped at 1000 by the model, so only the union can exceed it)          -> maxAccountsExceeded
  an account is in at most one unit's rule (LinkedAccounts; likewise BillSourceAccounts)
                                                                         -> accountMembershipError
  an account that is linked in one unit cannot receive another unit unless it also receives the unit it is
    linked in                                                            -> mutualExclusionError
  receiver and name are immutable: UpdateInvoiceUnit has no such members, so the validator refuses them.
  Checks run in that order; the first rule broken answers, naming the fields in `fieldList`.
  Every change is a version with the time it happened; GetInvoiceUnit/ListInvoiceUnits with `AsOf` read the
  versions in force at that time (deleted units included when AsOf precedes their deletion).
  ListInvoiceUnits filters: AND across filter types, OR within one; `Accounts` matches the receiver or a
  linked account; an empty filter list does not filter.
"""

from __future__ import annotations

import bisect
import copy
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterable, Iterator, Mapping

from invoicing_mock.exceptions import ResourceNotFoundException, ValidationException
from invoicing_mock.models.base import MODEL, BackendBase, clip
from invoicing_mock.organization import Organization


@dataclass
class UnitHistory:
    """Every version of one invoice unit: (time, wire-form data or None once deleted)."""

    seq: int
    arn: str
    times: list[float] = field(default_factory=list)
    versions: list[dict | None] = field(default_factory=list)

    @property
    def current(self) -> dict | None:
        return self.versions[-1]

    def at(self, when: float) -> dict | None:
        index = bisect.bisect_right(self.times, when) - 1
        return self.versions[index] if index >= 0 else None

    def add(self, when: float, data: dict | None) -> None:
        self.times.append(when)
        self.versions.append(data)


class _PayerUnits:
    """A payer's invoice units with the indexes the rules and the list filters need (live units only)."""

    def __init__(self) -> None:
        self.histories: dict[str, UnitHistory] = {}
        self.ordered: list[UnitHistory] = []  # every unit ever, by creation
        self.live_seqs: list[int] = []
        self.by_name: dict[str, str] = {}
        self.linked_owner: dict[str, str] = {}
        self.bill_source_owner: dict[str, str] = {}
        self.received: dict[str, set[str]] = {}

    def live(self, arn: str) -> dict | None:
        history = self.histories.get(arn)
        return history.current if history else None

    def _index(self, arn: str, data: dict, add: bool) -> None:
        rule = data.get("Rule") or {}
        if add:
            self.by_name[data["Name"]] = arn
            self.received.setdefault(data["InvoiceReceiver"], set()).add(arn)
            for account in rule.get("LinkedAccounts", ()):
                self.linked_owner[account] = arn
            for account in rule.get("BillSourceAccounts", ()):
                self.bill_source_owner[account] = arn
        else:
            self.by_name.pop(data["Name"], None)
            receivers = self.received.get(data["InvoiceReceiver"], set())
            receivers.discard(arn)
            if not receivers:
                self.received.pop(data["InvoiceReceiver"], None)
            for account in rule.get("LinkedAccounts", ()):
                if self.linked_owner.get(account) == arn:
                    del self.linked_owner[account]
            for account in rule.get("BillSourceAccounts", ()):
                if self.bill_source_owner.get(account) == arn:
                    del self.bill_source_owner[account]

    def create(self, arn: str, data: dict, when: float) -> None:
        history = UnitHistory(seq=len(self.ordered) + 1, arn=arn)
        history.add(when, data)
        self.histories[arn] = history
        self.ordered.append(history)
        self.live_seqs.append(history.seq)
        self._index(arn, data, add=True)

    def update(self, arn: str, data: dict, when: float) -> None:
        history = self.histories[arn]
        self._index(arn, history.current, add=False)
        history.add(when, data)
        self._index(arn, data, add=True)

    def delete(self, arn: str, when: float) -> None:
        history = self.histories[arn]
        self._index(arn, history.current, add=False)
        history.add(when, None)
        del self.live_seqs[bisect.bisect_left(self.live_seqs, history.seq)]

    def candidates(self, filters: dict, after_seq: int) -> Iterator[UnitHistory]:
        """Live units after `after_seq`, in creation order, narrowed through the indexes when filtered."""
        narrowed: set[str] | None = None

        def narrow(arns: Iterable[str]) -> None:
            nonlocal narrowed
            found = set(arns)
            narrowed = found if narrowed is None else narrowed & found

        if filters.get("Names"):
            narrow(self.by_name[name] for name in filters["Names"] if name in self.by_name)
        if filters.get("InvoiceReceivers"):
            narrow(arn for account in filters["InvoiceReceivers"] for arn in self.received.get(account, ()))
        if filters.get("Accounts"):
            narrow(
                [arn for account in filters["Accounts"] for arn in self.received.get(account, ())]
                + [self.linked_owner[account] for account in filters["Accounts"] if account in self.linked_owner]
            )
        if filters.get("BillSourceAccounts"):
            narrow(
                self.bill_source_owner[a] for a in filters["BillSourceAccounts"] if a in self.bill_source_owner
            )
        if narrowed is not None:
            chosen = sorted((self.histories[arn] for arn in narrowed), key=lambda h: h.seq)
            yield from (history for history in chosen if history.seq > after_seq)
            return
        # Index by position rather than slicing: a page costs what it returns, not what is stored.
        live = self.live_seqs
        for position in range(bisect.bisect_right(live, after_seq), len(live)):
            yield self.ordered[live[position] - 1]

    def ever_after(self, after_seq: int) -> Iterator[UnitHistory]:
        """Every unit ever created after `after_seq` (for AsOf reads, which may include deleted units)."""
        for index in range(after_seq, len(self.ordered)):
            yield self.ordered[index]


def _matches(data: dict, filters: dict) -> bool:
    """ListInvoiceUnits Filters: AND across filter types, OR within one; an empty list does not filter."""
    rule = data.get("Rule") or {}
    names = filters.get("Names")
    if names and data["Name"] not in names:
        return False
    receivers = filters.get("InvoiceReceivers")
    if receivers and data["InvoiceReceiver"] not in receivers:
        return False
    accounts = filters.get("Accounts")
    if accounts and data["InvoiceReceiver"] not in accounts and not set(accounts) & set(rule.get("LinkedAccounts", ())):
        return False
    bill_sources = filters.get("BillSourceAccounts")
    if bill_sources and not set(bill_sources) & set(rule.get("BillSourceAccounts", ())):
        return False
    return True


class InvoiceUnitsMixin(BackendBase):
    """The invoice unit operations, on a store per payer account."""

    def _reset_state(self) -> None:
        super()._reset_state()
        self._units: dict[str, _PayerUnits] = {}

    def _is_live(self, account: str, arn: str) -> bool:
        units = self._units.get(account)
        return (units is not None and units.live(arn) is not None) or super()._is_live(account, arn)

    def invoice_unit_histories(self, account: str) -> Mapping[str, UnitHistory]:
        """Every invoice unit `account` ever created, by ARN, each with all its versions (read-only; for tests
        and variants that look at what a read should have shown)."""
        units = self._units.get(account)
        return MappingProxyType(units.histories if units else {})

    def _payer(self, account: str) -> tuple[Organization, _PayerUnits]:
        org = self._management_org(account)
        return org, self._units.setdefault(account, _PayerUnits())

    def _unit_not_found(self, arn: str, when: float | None = None) -> ResourceNotFoundException:
        where = "" if when is None else " at the requested AsOf time"
        return ResourceNotFoundException(
            clip(f"Invoice unit {arn} does not exist{where} for this management account"),
            resource_name=arn if len(arn) <= 256 else None,
        )

    def _check_rule(
        self, org: Organization, units: _PayerUnits, receiver: str, rule: dict, own: str | None
    ) -> None:
        linked = list(rule.get("LinkedAccounts", ()))
        bill_sources = list(rule.get("BillSourceAccounts", ()))
        outsiders = [("InvoiceReceiver", receiver)] if receiver not in org else []
        outsiders += [(f"Rule.LinkedAccounts[{i}]", a) for i, a in enumerate(linked) if a not in org]
        if outsiders:
            accounts = ", ".join(sorted({a for _, a in outsiders}))
            raise ValidationException(
                clip(f"Account(s) {accounts} are not members of the organization of management account {org.payer}"),
                reason="nonMemberPresent",
                field_list=[{"name": path, "message": f"{a} is not an organization member"} for path, a in outsiders],
            )
        total = len(set(linked) | set(bill_sources))
        if total > self.limits.accounts_per_rule:
            raise ValidationException(
                f"The rule names {total} accounts; an invoice unit rule holds at most "
                f"{self.limits.accounts_per_rule} (LinkedAccounts and BillSourceAccounts together)",
                reason="maxAccountsExceeded",
                field_list=[{"name": "Rule", "message": f"{total} accounts"}],
            )
        taken = [
            (f"Rule.{kind}[{i}]", a, owners[a])
            for kind, accounts, owners in (
                ("LinkedAccounts", linked, units.linked_owner),
                ("BillSourceAccounts", bill_sources, units.bill_source_owner),
            )
            for i, a in enumerate(accounts)
            if owners.get(a, own) != own
        ]
        if taken:
            raise ValidationException(
                clip(
                    "An account can be in only one invoice unit's rule: "
                    + "; ".join(f"{a} is in {self._describe_unit(units, arn)}" for _, a, arn in taken)
                ),
                reason="accountMembershipError",
                field_list=[{"name": p, "message": f"{a} is in {arn}"} for p, a, arn in taken],
            )
        clashes = []
        linked_elsewhere = units.linked_owner.get(receiver)
        if linked_elsewhere not in (None, own) and units.live(linked_elsewhere)["InvoiceReceiver"] != receiver:
            clashes.append(
                (
                    "InvoiceReceiver",
                    f"{receiver} is a linked account of {self._describe_unit(units, linked_elsewhere)}, "
                    f"which it does not receive",
                )
            )
        for i, account in enumerate(linked):
            if account == receiver:
                continue
            received = units.received.get(account, set()) - {own}
            if received:
                clashes.append(
                    (
                        f"Rule.LinkedAccounts[{i}]",
                        f"{account} receives {self._describe_unit(units, min(received))}, "
                        f"so it can only be linked in a unit it receives",
                    )
                )
        if clashes:
            raise ValidationException(
                clip(
                    "An account cannot be a linked account of one invoice unit and the receiver of another "
                    "unless it receives both: " + "; ".join(message for _, message in clashes)
                ),
                reason="mutualExclusionError",
                field_list=[{"name": path, "message": clip(message)} for path, message in clashes],
            )

    @staticmethod
    def _describe_unit(units: _PayerUnits, arn: str) -> str:
        return f"invoice unit {units.live(arn)['Name']!r} ({arn})"

    def _stored_rule(self, rule: dict) -> dict:
        """The rule as stored: as sent, or with LinkedAccounts sorted (behaviour.sort_account_lists), as a service
        keeping the unit's accounts as the set the documentation calls them would ("An invoice unit is a set of
        mutually exclusive accounts", the model's InvoiceUnit). BillSourceAccounts keep their order: nothing
        documents them as a set."""
        stored = copy.deepcopy(rule)
        if self.behaviour.sort_account_lists and isinstance(stored.get("LinkedAccounts"), list):
            stored["LinkedAccounts"] = sorted(stored["LinkedAccounts"])
        return stored

    def create_invoice_unit(self, account: str, params: dict) -> dict:
        """Simplified: BillSourceAccounts are not checked against billing transfers (any account is accepted,
        once per payer); TaxInheritanceDisabled is stored, never refused (no taxSettingsError)."""
        org, units = self._payer(account)
        name, receiver = params["Name"], params["InvoiceReceiver"]
        rule = params["Rule"]
        if name in units.by_name:
            raise ValidationException(
                f"An invoice unit named {name!r} already exists ({units.by_name[name]}); names are unique",
                reason="duplicateInvoiceUnit",
                field_list=[{"name": "Name", "message": "already in use"}],
            )
        if len(units.live_seqs) >= self.limits.invoice_units_per_payer:
            raise ValidationException(
                f"Management account {account} already has {len(units.live_seqs)} invoice units, the maximum",
                reason="maxInvoiceUnitsExceeded",
            )
        self._check_rule(org, units, receiver, rule, None)
        arn = f"arn:aws:invoicing::{account}:invoice-unit/{self.new_id()}"
        while arn in units.histories:
            arn = f"arn:aws:invoicing::{account}:invoice-unit/{self.new_id()}"
        now = self._now()
        data = {
            "InvoiceUnitArn": arn,
            "InvoiceReceiver": receiver,
            "Name": name,
            **({"Description": params["Description"]} if "Description" in params else {}),
            "TaxInheritanceDisabled": bool(params.get("TaxInheritanceDisabled", False)),
            "Rule": self._stored_rule(rule),
            "LastModified": now,
        }
        units.create(arn, data, now)
        self._start_tags(arn, params)
        return {"InvoiceUnitArn": arn}

    def update_invoice_unit(self, account: str, params: dict) -> dict:
        """Only the members given change; a given Rule replaces the whole rule."""
        org, units = self._payer(account)
        arn = params["InvoiceUnitArn"]
        current = units.live(arn)
        if current is None:
            raise self._unit_not_found(arn)
        data = dict(current)
        for name in ("Description", "TaxInheritanceDisabled", "Rule"):
            if name in params:
                data[name] = self._stored_rule(params[name]) if name == "Rule" else copy.deepcopy(params[name])
        if "Rule" in params:
            self._check_rule(org, units, data["InvoiceReceiver"], data["Rule"], arn)
        data["LastModified"] = now = self._now()
        units.update(arn, data, now)
        return {"InvoiceUnitArn": arn}

    def delete_invoice_unit(self, account: str, params: dict) -> dict:
        """The unit stays readable through AsOf times before the deletion; its tags are gone."""
        _org, units = self._payer(account)
        arn = params["InvoiceUnitArn"]
        if units.live(arn) is None:
            raise self._unit_not_found(arn)
        units.delete(arn, self._now())
        self._drop_tags(arn)
        return {"InvoiceUnitArn": arn}

    def get_invoice_unit(self, account: str, params: dict) -> dict:
        """The current version, or with AsOf the version in force then (deleted units included when AsOf
        precedes the deletion)."""
        _org, units = self._payer(account)
        arn = params["InvoiceUnitArn"]
        history = units.histories.get(arn)
        as_of = params.get("AsOf")
        data = None if history is None else (history.current if as_of is None else history.at(as_of))
        if data is None:
            raise self._unit_not_found(arn, as_of)
        # Stored versions are never mutated (a change makes a new version), so sharing them is safe.
        return dict(data)

    def list_invoice_units(self, account: str, params: dict) -> dict:
        """Creation order. Without AsOf, pages follow the live units (a cursor, so units that live throughout
        are seen exactly once); with AsOf, every page reads the same point in time."""
        _org, units = self._payer(account)
        default_max = MODEL.shape_for("MaxResultsInteger").metadata["max"]
        after, size, scope = self._page("ListInvoiceUnits", account, params, default_max)
        filters = params.get("Filters") or {}
        as_of = params.get("AsOf")
        if as_of is None:
            views = ((h.seq, h.current) for h in units.candidates(filters, after or 0))
        else:
            views = ((h.seq, h.at(as_of)) for h in units.ever_after(after or 0))
        page: list[dict] = []
        last_seq = None
        for seq, data in views:
            if data is None or not _matches(data, filters):
                continue
            if len(page) == size:
                # One more match exists: the page is full and another follows.
                return {
                    "InvoiceUnits": page,
                    "NextToken": self.page_tokens.issue("ListInvoiceUnits", account, scope, last_seq),
                }
            page.append(data)
            last_seq = seq
        return {"InvoiceUnits": page}
