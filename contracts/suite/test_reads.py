"""Read contracts the model cannot state: pagination, AsOf history, list filters.

Without these checks the catalogue's PaginationSkipsItem, PaginationRepeatsItem, AsOfIgnoresHistory and
FiltersOrInsteadOfAnd (invoicing_mock/mutants.py) survive the suite. Checks go under state-matches-reads.

- pagination: every paged list read with a small MaxResults, following NextToken, shows exactly the items of
  one large page, in the same order, each once (ListInvoiceUnits, ListProcurementPortalPreferences over
  resources this test creates; ListProcurementPortals, which needs none);
- AsOf: GetInvoiceUnit and ListInvoiceUnits with an AsOf between a unit's creation and its update show the
  version created (the reference model's first version, from the suite's own calls), not the current one, before
  and after the unit is deleted; an AsOf before the creation does not show the unit;
- filters: every unit ListInvoiceUnits returns, on every page of a list paged with MaxResults=1, matches every
  filter type given (AND across types, OR within one), and the units this test made that match them all are
  returned; the expectation is computed from the units the test made, never from the target's answers. The
  units include an account one only links (Accounts matches linked accounts) and two names that differ only in
  letter case (Names matches exactly: assumed, the model is silent on case);
- BatchGetInvoiceProfile answers a profile for every distinct account asked;
- ListInvoiceSummaries asked by a member account: its own invoices are answered (the control), another member's
  are not (assumed: the model is silent; the emulator answers ResourceNotFoundException).
Against an endpoint it creates a handful of resources and deletes them (the conftest's per-test cleanup).
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid

import pytest

from contracts.calls import comparable
from contracts.checks import CHECKS, CheckContext
from contracts.engine.reference import ABSENT, ReferenceModel
from contracts.engine.session import Suite
from contracts.model.redaction import REDACTOR
from contracts.suite.exchanges import require_answer, skip_if_denied

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
def as_of_reads_the_past(ctx: CheckContext, what: str, reference: ReferenceModel, arn: str, version: int | None,
                         shown: list[dict] | str) -> None:
    """A read with AsOf shows the unit as the reference model's `version` of it (an index into its history; None:
    before the first, when it did not exist), not the current one. `shown`: the units the read showed (their
    views; only the members the reference holds are compared), or the refusal."""
    expected = None if version is None else reference.states[arn].versions[version]
    want = "the unit not shown (it did not exist then)" if expected is None else \
        f"the unit as {'created' if version == 0 else f'after call {version} of its history'}"
    if isinstance(shown, str):
        ctx.fail(f"{ctx.operation} with AsOf {what} was refused", expected=want, observed=shown)
    if len(shown) != (expected is not None):
        ctx.fail(f"{ctx.operation} with AsOf {what} showed {len(shown)} units", expected=want,
                 observed=f"{len(shown)} units")
    if expected is None:
        return
    found = reference.mismatches(arn, shown[0], version=version)
    if found:
        first = found[0]
        ctx.fail(f"{ctx.operation} with AsOf {what} shows {first.member} otherwise than the unit was then",
                 expectation=first.expected.expectation, expected="; ".join(m.describe() for m in found)[:500],
                 observed=json.dumps(REDACTOR.placeholder_repr(comparable(
                     {m.member: "not shown" if m.observed is ABSENT else m.observed for m in found})), default=str))


@CHECKS.register("filters_and_across_types", property=PROPERTY)
def filters_and_across_types(ctx: CheckContext, filters: dict, listed: list, must: set, where: str = "") -> None:
    """Every unit listed matches every filter type given (AND across types, OR within one); the units known to
    match them all are listed. `where` says which page, when the list was paged."""
    for unit in listed:
        linked = set((unit.get("Rule") or {}).get("LinkedAccounts", ()))
        tests = {"Names": unit.get("Name") in filters.get("Names", ()),
                 "InvoiceReceivers": unit.get("InvoiceReceiver") in filters.get("InvoiceReceivers", ()),
                 "Accounts": bool({unit.get("InvoiceReceiver"), *linked} & set(filters.get("Accounts", ())))}
        failed = [name for name in filters if name in tests and filters[name] and not tests[name]]
        if failed:
            folded = {str(n).casefold() for n in filters.get("Names", ())}
            # A name that matches only once case is folded breaks the assumed exact reading, not the documented AND.
            only_case = failed == ["Names"] and str(unit.get("Name")).casefold() in folded
            ctx.fail(f"{ctx.operation} with Filters {sorted(filters)} listed{where} a unit that does not match "
                     f"{', '.join(failed)}" + (" (its name differs from one asked only in letter case)"
                                               if only_case else ""),
                     expected="every filter type matched (AND), names exactly",
                     observed=f"{unit.get('Name')!r} (receiver {unit.get('InvoiceReceiver')})",
                     expectation="names_match_exactly" if only_case else "")
    missing = must - {unit.get("InvoiceUnitArn") for unit in listed}
    if missing:
        ctx.fail(f"{ctx.operation} with Filters {sorted(filters)} left out units matching every filter",
                 expected=f"{len(must)} units listed", observed=f"missing {sorted(missing)[:3]}",
                 expectation="accounts_match_linked" if "Accounts" in filters else "")


@CHECKS.register("every_account_profiled", property="valid-requests")
def every_account_profiled(ctx: CheckContext, asked: list, outcome) -> None:
    """BatchGetInvoiceProfile answers one profile for each distinct account asked."""
    answered = [p.get("AccountId") for p in (outcome.response or {}).get("Profiles", [])] if outcome.ok else []
    missing = [a for a in dict.fromkeys(asked) if a not in answered]
    if not outcome.ok or missing:
        ctx.fail(f"{ctx.operation} for {len(set(asked))} accounts of the organisation did not profile each",
                 expected="a profile for every account asked",
                 observed=outcome.summary() if not outcome.ok else f"no profile for {missing[:3]}")


@CHECKS.register("member_sees_own_invoices_only", property="scope")
def member_sees_own_invoices_only(ctx: CheckContext, member: str, other: str, outcome) -> None:
    """A member account asking for another member's invoice summaries is not answered with them."""
    if outcome.ok:
        ctx.fail(f"{ctx.operation}: member account {member} was answered the invoice summaries of member {other}",
                 expected="refused (a member sees its own invoices; the payer its organisation's)",
                 observed=f"{len(outcome.response.get('InvoiceSummaries', []))} summaries")


def _create_units(suite: Suite, count: int, receiver: str | None = None, *, name: str | None = None,
                  linked: tuple[str, ...] = (), description: str | None = None,
                  reference: ReferenceModel | None = None) -> list[tuple[str, str]]:
    api = suite.api()
    made = []
    for _ in range(count):
        # a real account's run prefix; `name` (one unit) when the test needs names related to each other
        name = suite.target.unit_name(name if name and count == 1 else f"contracts reads {uuid.uuid4().hex[:10]}")
        rule = {"LinkedAccounts": list(linked)} if linked else {}
        params = {"Name": name, "InvoiceReceiver": receiver or suite.target.receiver, "Rule": rule,
                  "ClientToken": str(uuid.uuid4()), **({"Description": description} if description else {})}
        outcome = api.call("CreateInvoiceUnit", params, note="setup", record="setup")
        if outcome.not_sent:  # a real-account run's guard or budget kept it back
            pytest.skip(f"setup: CreateInvoiceUnit not sent: {outcome.not_sent}")
        require_answer(suite, "CreateInvoiceUnit", params, outcome, what="setup: ")
        made.append((outcome.response["InvoiceUnitArn"], name))
        if reference is not None:
            reference.created("CreateInvoiceUnit", made[-1][0], params, step=len(suite.trace.calls))
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
        require_answer(suite, "CreateProcurementPortalPreference", params, outcome, what="setup: ")


def _pages(suite: Suite, operation: str, key: str, size: int | None, params: dict | None = None,
           max_pages: int = 1000) -> list:
    """Every item, following NextToken, for at most `max_pages` pages (a list that never ends is cut there and
    compared as it is); items as JSON-comparable dicts."""
    items, request = [], dict(params or {})
    if size:
        request["MaxResults"] = size
    for _ in range(max_pages):
        sent = dict(request)
        outcome = suite.api().call(operation, sent, note=f"page of {size or 'the default size'}")
        require_answer(suite, operation, sent, outcome)
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
    setup(suite)
    suite.trace.reset()
    whole = _pages(suite, list_operation, key, largest)
    paged = _pages(suite, list_operation, key, PAGE, max_pages=len(whole) // PAGE + 3)
    suite.check("pages_cover_the_list_once", list_operation, whole, paged, PAGE)
    suite.observe(list_operation, f"paging with MaxResults={PAGE}",
                  "showed each item of the list once" if paged == whole else "did not show the list once")


def _last_modified(suite: Suite, arn: str, account=None):
    read = suite.api(account=account).call("GetInvoiceUnit", {"InvoiceUnitArn": arn}, note="read back")
    require_answer(suite, "GetInvoiceUnit", {"InvoiceUnitArn": arn}, read)
    return read.response


def test_as_of_reads_the_past(suite: Suite) -> None:
    if not suite.selected("GetInvoiceUnit") and not suite.selected("ListInvoiceUnits"):
        pytest.skip("GetInvoiceUnit and ListInvoiceUnits not selected")
    # What each version must show comes from the suite's own calls (the reference model), never from a read.
    reference = ReferenceModel(suite.contract)
    [(arn, name)] = _create_units(suite, 1, description="as created", reference=reference)
    created = _last_modified(suite, arn)
    suite.trace.wait(GAP)  # the change lands in a later whole second, whether the service truncates or rounds
    update = {"InvoiceUnitArn": arn, "Description": "changed later", "ClientToken": str(uuid.uuid4())}
    changed = suite.api().call("UpdateInvoiceUnit", update, note="a later change")
    require_answer(suite, "UpdateInvoiceUnit", update, changed)
    reference.changed("UpdateInvoiceUnit", arn, update, step=len(suite.trace.calls))
    updated = _last_modified(suite, arn)
    # Every AsOf is read off the service's own timestamps, never the local clock (which may run ahead or behind):
    # halfway between the two versions, and a GAP before the first.
    first, second = created["LastModified"], updated["LastModified"]
    if not second > first:
        pytest.fail(f"UpdateInvoiceUnit {GAP} s after the creation did not move LastModified ({first} -> {second}): "
                    f"no AsOf can tell the two versions apart", pytrace=False)
    between = first + (second - first) / 2
    before = first - _dt.timedelta(seconds=GAP)
    then = _as_of_reads(suite, reference, arn, name, between, "between the creation and an update")
    earlier = _pages(suite, "ListInvoiceUnits", "InvoiceUnits", None, {"AsOf": before, "Filters": {"Names": [name]}})
    suite.check("as_of_reads_the_past", "ListInvoiceUnits", "before the unit was created", reference, arn, None,
                earlier)
    if suite.selected("DeleteInvoiceUnit"):
        delete = {"InvoiceUnitArn": arn, "ClientToken": str(uuid.uuid4())}
        deleted = suite.api().call("DeleteInvoiceUnit", delete, note="delete the unit")
        require_answer(suite, "DeleteInvoiceUnit", delete, deleted)
        reference.deleted(arn)
        # "You can see legacy invoice units that are currently deleted if the AsOf time is set to before it was
        # deleted" (the model)
        _as_of_reads(suite, reference, arn, name, between, "before the unit was deleted, read after the delete")
    suite.observe("GetInvoiceUnit", "a read with AsOf before a change",
                  "showed the earlier version" if then else "did not show the earlier version")


def _as_of_reads(suite: Suite, reference: ReferenceModel, arn: str, name: str, at, what: str) -> bool:
    """GetInvoiceUnit and ListInvoiceUnits with AsOf `at`, a time the unit's first version was in force, each
    compared with that version; whether GetInvoiceUnit showed it."""
    then = suite.api().call("GetInvoiceUnit", {"InvoiceUnitArn": arn, "AsOf": at}, note=f"AsOf {what}")
    suite.check("as_of_reads_the_past", "GetInvoiceUnit", what, reference, arn, 0,
                [then.response] if then.ok else then.summary())
    listed = _pages(suite, "ListInvoiceUnits", "InvoiceUnits", None, {"AsOf": at, "Filters": {"Names": [name]}})
    suite.check("as_of_reads_the_past", "ListInvoiceUnits", what, reference, arn, 0, listed)
    return then.ok and not reference.mismatches(arn, then.response, version=0)


def _filtered_pages(suite: Suite, filters: dict) -> list[list]:
    """The pages of ListInvoiceUnits with `filters` and MaxResults=PAGE, following NextToken."""
    pages, request = [], {"Filters": filters, "MaxResults": PAGE}
    for _ in range(50):  # this test's units are a handful; a list that never ends is cut here
        sent = dict(request)
        outcome = suite.api().call("ListInvoiceUnits", sent, note=f"filtered page of {PAGE}")
        require_answer(suite, "ListInvoiceUnits", sent, outcome)
        pages.append(outcome.response.get("InvoiceUnits", []))
        if not outcome.response.get("NextToken"):
            break
        request["NextToken"] = outcome.response["NextToken"]
    return pages


def test_list_filters_are_and_across_types(suite: Suite) -> None:
    if not suite.selected("ListInvoiceUnits"):
        pytest.skip("ListInvoiceUnits not selected")
    receiver = suite.target.receiver  # the payer, except in a real account (an account of the run's pool)
    others = [m for m in suite.target.members if m != receiver]
    if len(others) < 3:
        pytest.skip("needs three organisation members other than the first receiver (a receiver, two linked)")
    other, linked = others[0], others[1:3]  # an account is in one unit's rule at most: one linked account each
    # Matching and non-matching units alternate, so a later page that drops a filter shows a unit that does
    # not match; `linked` accounts are only ever linked, never receivers; two names differ only in letter case.
    tail = uuid.uuid4().hex[:8]
    [(arn_a, name_a)] = _create_units(suite, 1)
    [(arn_b, name_b)] = _create_units(suite, 1, receiver=other, linked=linked[:1])
    [(arn_c, name_c)] = _create_units(suite, 1, linked=linked[1:])
    [(arn_d, name_d)] = _create_units(suite, 1, receiver=other)
    [(arn_up, name_up)] = _create_units(suite, 1, name=f"contracts reads Case {tail}")
    [(arn_low, name_low)] = _create_units(suite, 1, name=f"contracts reads case {tail}")
    everyone = [name_a, name_b, name_c, name_d, name_up, name_low]
    suite.trace.reset()
    cases = [  # filters -> the units this test made that match them all (the rest of the account may match too)
        ({"Names": [name_b], "InvoiceReceivers": [receiver]}, set()),
        ({"Names": [name_a, name_b], "InvoiceReceivers": [other]}, {arn_b}),
        ({"Names": [name_a], "Accounts": [receiver]}, {arn_a}),
        ({"Names": everyone, "InvoiceReceivers": [receiver]}, {arn_a, arn_c, arn_up, arn_low}),
        ({"Accounts": linked}, {arn_b, arn_c}),
        ({"Accounts": linked[1:], "InvoiceReceivers": [receiver]}, {arn_c}),
        ({"Names": [name_low]}, {arn_low}),
        ({"Names": [name_up, name_d]}, {arn_up, arn_d}),
    ]
    for filters, must in cases:
        pages = _filtered_pages(suite, filters)
        for number, page in enumerate(pages[1:], start=2):  # each later page on its own: it names the page
            suite.check("filters_and_across_types", "ListInvoiceUnits", filters, page, set(), f" on page {number}")
        suite.check("filters_and_across_types", "ListInvoiceUnits", filters, [u for p in pages for u in p], must)
    suite.observe("ListInvoiceUnits", "filters of two types, paged with MaxResults=1",
                  "were combined with AND on every page")


def test_batch_profile_answers_every_account(suite: Suite) -> None:
    if not suite.selected("BatchGetInvoiceProfile"):
        pytest.skip("BatchGetInvoiceProfile not selected")
    asked = list(suite.target.members)[:5]
    if len(asked) < 2:
        pytest.skip("needs two accounts of the organisation")
    outcome = suite.api().call("BatchGetInvoiceProfile", {"AccountIds": asked}, note="every account asked")
    skip_if_denied(suite, "BatchGetInvoiceProfile")
    suite.check("every_account_profiled", "BatchGetInvoiceProfile", asked, outcome)
    suite.observe("BatchGetInvoiceProfile", f"{len(asked)} accounts asked", "answered a profile for each")


def test_member_reads_only_its_own_invoices(suite: Suite) -> None:
    if not suite.selected("ListInvoiceSummaries"):
        pytest.skip("ListInvoiceSummaries not selected")
    if suite.target.kind == "aws":
        pytest.skip("a real-account run calls as its own identity only")
    members = [m for m in suite.target.members if m != suite.target.payer]
    if len(members) < 2:
        pytest.skip("needs two member accounts besides the payer")
    member, other = members[0], members[1]
    own = suite.api(account=member).call("ListInvoiceSummaries", {"Selector": {
        "ResourceType": "ACCOUNT_ID", "Value": member}}, note="control: a member reads its own invoices")
    skip_if_denied(suite, "ListInvoiceSummaries")
    if not own.ok:  # the control failed: the refusal below would say nothing
        suite.observe("ListInvoiceSummaries", "a member reading its own invoices", f"refused: {own.error_code}")
        pytest.skip(f"inconclusive: member {member} could not read its own invoices ({own.error_code})")
    suite.trace.reset()
    theirs = suite.api(account=member).call("ListInvoiceSummaries", {"Selector": {
        "ResourceType": "ACCOUNT_ID", "Value": other}}, note="a member reads another member's invoices")
    suite.check("member_sees_own_invoices_only", "ListInvoiceSummaries", member, other, theirs)
    suite.observe("ListInvoiceSummaries", "a member reading another member's invoices",
                  "refused" if not theirs.ok else "answered")
