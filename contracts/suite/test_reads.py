"""Read contracts the model cannot state: pagination, AsOf history, list filters.

Without these checks the catalogue's PaginationSkipsItem, PaginationRepeatsItem, AsOfIgnoresHistory and
FiltersOrInsteadOfAnd (invoicing_mock/mutants.py) survive the suite. Checks go under state-matches-reads.

- pagination: every paged list read with a small MaxResults, following NextToken, shows exactly the items of
  one large page, in the same order, each once (ListInvoiceUnits, ListProcurementPortalPreferences over
  resources this test creates; ListProcurementPortals, which needs none);
- AsOf: GetInvoiceUnit and ListInvoiceUnits with an AsOf between a unit's creation and its update show the
  version created, not the current one; an AsOf before the creation does not show the unit;
- filters: every unit ListInvoiceUnits returns matches every filter type given (AND across types, OR within
  one), and the units this test made that match them all are returned.
Against an endpoint it creates a handful of resources and deletes them (the conftest's per-test cleanup).
"""

from __future__ import annotations

import datetime as _dt
import json
import time
import uuid

import pytest

from contracts.checks import CHECKS, CheckContext
from contracts.engine.session import Suite
from contracts.suite.exchanges import skip_if_denied

PROPERTY = "state-matches-reads"
PAGE = 1  # every item on a page of its own: a list of two already spans two pages
GAP = 1.1  # seconds between changes an AsOf must tell apart (a service may keep whole-second timestamps)


@CHECKS.register("pages_cover_the_list_once", property=PROPERTY)
def pages_cover_the_list_once(ctx: CheckContext, whole: list, paged: list, page_size: int) -> None:
    """Paging through a list with a small MaxResults shows exactly the items of one large page, each once."""
    if paged != whole:
        def key(item):
            return json.dumps(item, sort_keys=True, default=str)[:120]

        seen = [key(i) for i in paged]
        repeated = sorted({k for k in seen if seen.count(k) > 1})
        missing = [key(i) for i in whole if key(i) not in seen]
        ctx.fail(f"{ctx.operation} paged with MaxResults={page_size} does not show the list one page shows",
                 expected=f"{len(whole)} items, each once, in order",
                 observed=f"{len(paged)} items; repeated {repeated[:3]}, missing {missing[:3]}")


@CHECKS.register("as_of_reads_the_past", property=PROPERTY)
def as_of_reads_the_past(ctx: CheckContext, what: str, expected, observed) -> None:
    """A read with AsOf shows the state at that time, not the current one."""
    if expected != observed:
        ctx.fail(f"{ctx.operation} with AsOf {what}", expected=str(expected), observed=str(observed))


@CHECKS.register("filters_and_across_types", property=PROPERTY)
def filters_and_across_types(ctx: CheckContext, filters: dict, listed: list, must: set) -> None:
    """Every unit listed matches every filter type given (AND across types, OR within one); the units known to
    match them all are listed."""
    for unit in listed:
        linked = set((unit.get("Rule") or {}).get("LinkedAccounts", ()))
        tests = {"Names": unit.get("Name") in filters.get("Names", ()),
                 "InvoiceReceivers": unit.get("InvoiceReceiver") in filters.get("InvoiceReceivers", ()),
                 "Accounts": bool({unit.get("InvoiceReceiver"), *linked} & set(filters.get("Accounts", ())))}
        failed = [name for name in filters if name in tests and filters[name] and not tests[name]]
        if failed:
            ctx.fail(f"{ctx.operation} with Filters {sorted(filters)} listed a unit that does not match "
                     f"{', '.join(failed)}", expected="every filter type matched (AND)",
                     observed=f"{unit.get('Name')!r} (receiver {unit.get('InvoiceReceiver')})")
    missing = must - {unit.get("InvoiceUnitArn") for unit in listed}
    if missing:
        ctx.fail(f"{ctx.operation} with Filters {sorted(filters)} left out units matching every filter",
                 expected=f"{len(must)} units listed", observed=f"missing {sorted(missing)[:3]}")


def _create_units(suite: Suite, count: int, receiver: str | None = None) -> list[tuple[str, str]]:
    api = suite.api()
    made = []
    for _ in range(count):
        name = suite.target.unit_name(f"contracts reads {uuid.uuid4().hex[:10]}")  # a real account's run prefix
        outcome = api.call("CreateInvoiceUnit", {"Name": name, "InvoiceReceiver": receiver or suite.target.receiver,
                                                 "Rule": {}, "ClientToken": str(uuid.uuid4())},
                           note="setup", record="setup")
        if outcome.not_sent:  # a real-account run's guard or budget kept it back
            pytest.skip(f"setup: CreateInvoiceUnit not sent: {outcome.not_sent}")
        skip_if_denied(suite, "CreateInvoiceUnit", what="setup: ")
        assert outcome.ok, f"setup: CreateInvoiceUnit failed: {outcome.summary()}"
        made.append((outcome.response["InvoiceUnitArn"], name))
    return made


def _create_preferences(suite: Suite, count: int) -> None:
    for _ in range(count):
        params = suite.prepare("CreateProcurementPortalPreference", {
            "ProcurementPortalName": "COUPA", "BuyerDomain": "NetworkID",
            "BuyerIdentifier": f"reads-{uuid.uuid4().hex[:12]}", "SupplierDomain": "NetworkID",
            "SupplierIdentifier": "reads", "EinvoiceDeliveryEnabled": False, "PurchaseOrderRetrievalEnabled": False,
            "Contacts": [{"Name": "reads", "Email": "reads@example.com"}], "ClientToken": str(uuid.uuid4())})
        outcome = suite.api().call("CreateProcurementPortalPreference", params, note="setup", record="setup")
        if outcome.not_sent:
            pytest.skip(f"setup: CreateProcurementPortalPreference not sent: {outcome.not_sent}")
        skip_if_denied(suite, "CreateProcurementPortalPreference", what="setup: ")
        assert outcome.ok, f"setup: CreateProcurementPortalPreference failed: {outcome.summary()}"


def _pages(suite: Suite, operation: str, key: str, size: int | None, params: dict | None = None,
           max_pages: int = 1000) -> list:
    """Every item, following NextToken, for at most `max_pages` pages (a list that never ends is cut there and
    compared as it is); items as JSON-comparable dicts."""
    items, request = [], dict(params or {})
    if size:
        request["MaxResults"] = size
    for _ in range(max_pages):
        outcome = suite.api().call(operation, dict(request), note=f"page of {size or 'the default size'}")
        skip_if_denied(suite, operation)
        assert outcome.ok, f"{operation} failed: {outcome.summary()}"
        items += outcome.response.get(key, [])
        if not outcome.response.get("NextToken"):
            break
        request["NextToken"] = outcome.response["NextToken"]
    return items


LISTS = {  # operation -> (member holding the items, setup making items of it, largest MaxResults)
    "ListInvoiceUnits": ("InvoiceUnits", lambda s: _create_units(s, 5), 500),
    "ListProcurementPortalPreferences": ("ProcurementPortalPreferences", lambda s: _create_preferences(s, 5), 100),
    "ListProcurementPortals": ("ProcurementPortals", lambda s: None, 100),
}


@pytest.mark.parametrize("list_operation", sorted(LISTS))
def test_pagination_shows_each_item_once(suite: Suite, list_operation: str) -> None:
    if not suite.selected(list_operation):
        pytest.skip(f"{list_operation} not selected")
    key, setup, largest = LISTS[list_operation]
    suite.trace.reset_all()
    setup(suite)
    suite.trace.reset()
    whole = _pages(suite, list_operation, key, largest)
    paged = _pages(suite, list_operation, key, PAGE, max_pages=len(whole) // PAGE + 3)
    suite.check("pages_cover_the_list_once", list_operation, whole, paged, PAGE)
    suite.observe(list_operation, f"paging with MaxResults={PAGE}",
                  "showed each item of the list once" if paged == whole else "did not show the list once")


def _last_modified(suite: Suite, arn: str, account=None):
    read = suite.api(account=account).call("GetInvoiceUnit", {"InvoiceUnitArn": arn}, note="read back")
    skip_if_denied(suite, "GetInvoiceUnit")
    assert read.ok, read.summary()
    return read.response


def test_as_of_reads_the_past(suite: Suite) -> None:
    if not suite.selected("GetInvoiceUnit") and not suite.selected("ListInvoiceUnits"):
        pytest.skip("GetInvoiceUnit and ListInvoiceUnits not selected")
    suite.trace.reset_all()
    [(arn, name)] = _create_units(suite, 1)
    created = _last_modified(suite, arn)
    time.sleep(GAP)  # the change lands in a later whole second, whether the service truncates or rounds
    changed = suite.api().call("UpdateInvoiceUnit", {"InvoiceUnitArn": arn, "Description": "changed later",
                                                      "ClientToken": str(uuid.uuid4())}, note="a later change")
    skip_if_denied(suite, "UpdateInvoiceUnit")
    assert changed.ok, changed.summary()
    updated = _last_modified(suite, arn)
    # Every AsOf is read off the service's own timestamps, never the local clock (which may run ahead or behind):
    # halfway between the two versions, and a GAP before the first.
    first, second = created["LastModified"], updated["LastModified"]
    if not second > first:
        pytest.fail(f"UpdateInvoiceUnit {GAP} s after the creation did not move LastModified ({first} -> {second}): "
                    f"no AsOf can tell the two versions apart", pytrace=False)
    between = first + (second - first) / 2
    before = first - _dt.timedelta(seconds=GAP)
    suite.trace.reset()
    then = suite.api().call("GetInvoiceUnit", {"InvoiceUnitArn": arn, "AsOf": between}, note="AsOf before the change")
    suite.check("as_of_reads_the_past", "GetInvoiceUnit", "between the creation and an update",
                created.get("Description"), then.response.get("Description") if then.ok else then.summary())
    listed = _pages(suite, "ListInvoiceUnits", "InvoiceUnits", None, {"AsOf": between, "Filters": {"Names": [name]}})
    suite.check("as_of_reads_the_past", "ListInvoiceUnits", "between the creation and an update",
                [created.get("Description")], [unit.get("Description") for unit in listed])
    earlier = _pages(suite, "ListInvoiceUnits", "InvoiceUnits", None, {"AsOf": before, "Filters": {"Names": [name]}})
    suite.check("as_of_reads_the_past", "ListInvoiceUnits", "before the unit was created", [],
                [unit.get("Name") for unit in earlier])
    suite.observe("GetInvoiceUnit", "a read with AsOf before a change",
                  "showed the earlier version" if then.ok and then.response.get("Description") ==
                  created.get("Description") else "did not show the earlier version")


def test_list_filters_are_and_across_types(suite: Suite) -> None:
    if not suite.selected("ListInvoiceUnits"):
        pytest.skip("ListInvoiceUnits not selected")
    receiver = suite.target.receiver  # the payer, except in a real account (an account of the run's pool)
    others = [m for m in suite.target.members if m != receiver]
    if not others:
        pytest.skip("needs an organisation member other than the first receiver as a second receiver")
    suite.trace.reset_all()
    [(arn_a, name_a)] = _create_units(suite, 1)
    [(arn_b, name_b)] = _create_units(suite, 1, receiver=others[0])
    suite.trace.reset()
    cases = [
        ({"Names": [name_b], "InvoiceReceivers": [receiver]}, set()),
        ({"Names": [name_a, name_b], "InvoiceReceivers": [others[0]]}, {arn_b}),
        ({"Names": [name_a], "Accounts": [receiver]}, {arn_a}),
    ]
    for filters, must in cases:
        listed = _pages(suite, "ListInvoiceUnits", "InvoiceUnits", None, {"Filters": filters})
        suite.check("filters_and_across_types", "ListInvoiceUnits", filters, listed, must)
    suite.observe("ListInvoiceUnits", "filters of two types", "were combined with AND")
