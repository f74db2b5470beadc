"""Invoice units: the organisation rules, updates, deletes, AsOf history, filters and pages, through a real
boto3 client, in-process and over HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
from invoicing_mock import Organization
from invoicing_mock.models import Limits

PAYER, M1, M2, M3, M4, M5 = (
    "123456789012", "111111111111", "222222222222", "333333333333", "444444444444", "555555555555"
)
OUTSIDER = "999999999999"


def create(client, name, receiver=PAYER, linked=(), **extra):
    return client.create_invoice_unit(
        Name=name, InvoiceReceiver=receiver, Rule={"LinkedAccounts": list(linked)}, **extra
    )["InvoiceUnitArn"]


def test_create_then_get_returns_what_was_created(client, target):
    arn = create(client, "Team A", PAYER, [PAYER, M1], Description="first", TaxInheritanceDisabled=True)
    assert arn.startswith(f"arn:aws:invoicing::{PAYER}:invoice-unit/")
    unit = client.get_invoice_unit(InvoiceUnitArn=arn)
    assert {k: unit[k] for k in ("InvoiceUnitArn", "InvoiceReceiver", "Name", "Description", "TaxInheritanceDisabled", "Rule")} == {
        "InvoiceUnitArn": arn,
        "InvoiceReceiver": PAYER,
        "Name": "Team A",
        "Description": "first",
        "TaxInheritanceDisabled": True,
        "Rule": {"LinkedAccounts": [PAYER, M1]},
    }
    assert unit["LastModified"].timestamp() == target.clock.now()


def test_a_receiver_outside_the_organization_is_a_non_member(client, refused):
    error = refused(client.create_invoice_unit, Name="X", InvoiceReceiver=OUTSIDER, Rule={"LinkedAccounts": [M1, OUTSIDER]})
    assert error == {
        "Code": "ValidationException",
        "Status": 400,
        "Message": f"Account(s) {OUTSIDER} are not members of the organization of management account {PAYER}",
        "reason": "nonMemberPresent",
        "fieldList": [
            {"name": "InvoiceReceiver", "message": f"{OUTSIDER} is not an organization member"},
            {"name": "Rule.LinkedAccounts[1]", "message": f"{OUTSIDER} is not an organization member"},
        ],
    }


def test_an_account_is_in_at_most_one_units_rule(client, refused):
    first = create(client, "A", PAYER, [M1])
    error = refused(client.create_invoice_unit, Name="B", InvoiceReceiver=M2, Rule={"LinkedAccounts": [M2, M1]})
    assert error["Code"] == "ValidationException" and error["reason"] == "accountMembershipError"
    assert error["Message"] == (
        f"An account can be in only one invoice unit's rule: {M1} is in invoice unit 'A' ({first})"
    )
    assert error["fieldList"] == [{"name": "Rule.LinkedAccounts[1]", "message": f"{M1} is in {first}"}]


def test_a_linked_account_cannot_receive_another_unit(client, refused):
    first = create(client, "A", PAYER, [M1])
    error = refused(client.create_invoice_unit, Name="B", InvoiceReceiver=M1, Rule={"LinkedAccounts": [M2]})
    assert error["reason"] == "mutualExclusionError"
    assert error["fieldList"] == [
        {"name": "InvoiceReceiver", "message": f"{M1} is a linked account of invoice unit 'A' ({first}), which it does not receive"}
    ]
    assert error["Message"].startswith(
        "An account cannot be a linked account of one invoice unit and the receiver of another unless it receives both: "
    )


def test_a_receiver_cannot_be_linked_in_a_unit_it_does_not_receive(client, refused):
    first = create(client, "A", M1, [M2])
    error = refused(client.create_invoice_unit, Name="B", InvoiceReceiver=M3, Rule={"LinkedAccounts": [M3, M1]})
    assert error["reason"] == "mutualExclusionError"
    assert error["fieldList"] == [
        {"name": "Rule.LinkedAccounts[1]", "message": f"{M1} receives invoice unit 'A' ({first}), so it can only be linked in a unit it receives"}
    ]


def test_an_account_that_receives_both_units_may_be_linked_in_one(client):
    create(client, "A", M1, [M1])
    assert create(client, "B", M1, [M2])


def test_names_are_unique_and_free_again_after_a_delete(client, refused):
    first = create(client, "Same")
    error = refused(client.create_invoice_unit, Name="Same", InvoiceReceiver=PAYER, Rule={})
    assert error["reason"] == "duplicateInvoiceUnit"
    assert error["Message"] == f"An invoice unit named 'Same' already exists ({first}); names are unique"
    assert error["fieldList"] == [{"name": "Name", "message": "already in use"}]
    client.delete_invoice_unit(InvoiceUnitArn=first)
    assert create(client, "Same") != first


def test_a_member_account_cannot_manage_invoice_units(target, refused):
    error = refused(target.client(account=M1).list_invoice_units)
    assert error["Code"] == "AccessDeniedException" and error["Status"] == 400
    assert error["Message"] == (
        f"Account {M1} is a member of the organization whose management account is {PAYER}; "
        f"only the management account manages invoice units and reads invoice profiles"
    )


def test_a_standalone_account_is_its_own_payer(target, refused):
    client = target.client(account=OUTSIDER)
    arn = create(client, "Mine", OUTSIDER, [OUTSIDER])
    assert arn.startswith(f"arn:aws:invoicing::{OUTSIDER}:")
    # and the default payer does not see it
    assert refused(target.client().get_invoice_unit, InvoiceUnitArn=arn)["Code"] == "ResourceNotFoundException"


def test_update_changes_only_what_it_is_given(client, refused):
    arn = create(client, "A", PAYER, [M1], Description="old")
    client.update_invoice_unit(InvoiceUnitArn=arn, Rule={"LinkedAccounts": [M2]})
    unit = client.get_invoice_unit(InvoiceUnitArn=arn)
    assert (unit["Description"], unit["Rule"], unit["TaxInheritanceDisabled"]) == ("old", {"LinkedAccounts": [M2]}, False)
    # M1 is free again, M2 is taken
    assert create(client, "B", M3, [M1])
    assert refused(client.create_invoice_unit, Name="C", InvoiceReceiver=M3, Rule={"LinkedAccounts": [M2]})["reason"] == "accountMembershipError"


def test_update_rechecks_the_rule_but_not_against_the_unit_itself(client, refused):
    arn = create(client, "A", M1, [M1, M2])
    client.update_invoice_unit(InvoiceUnitArn=arn, Rule={"LinkedAccounts": [M2, M1, M3]})
    other = create(client, "B", M4, [M4])
    error = refused(client.update_invoice_unit, InvoiceUnitArn=other, Rule={"LinkedAccounts": [M4, M3]})
    assert error["reason"] == "accountMembershipError"


@pytest.mark.parametrize("member, value", [("Name", "New"), ("InvoiceReceiver", M1)])
def test_name_and_receiver_are_immutable(target, member, value, refused, raw_members):
    client = target.client()
    arn = create(client, "A")
    sneaky = target.client()
    raw_members(sneaky, "UpdateInvoiceUnit", **{member: value})
    error = refused(sneaky.update_invoice_unit, InvoiceUnitArn=arn)
    assert error["Code"] == "ValidationException" and error["reason"] == "fieldValidationFailed"
    assert [field["name"] for field in error["fieldList"]] == [member]
    assert client.get_invoice_unit(InvoiceUnitArn=arn)["Name"] == "A"


def test_unknown_and_deleted_units_are_not_found(client, refused):
    arn = create(client, "A")
    client.delete_invoice_unit(InvoiceUnitArn=arn)
    for call in (client.get_invoice_unit, client.delete_invoice_unit, client.update_invoice_unit):
        error = refused(call, InvoiceUnitArn=arn)
        assert error == {
            "Code": "ResourceNotFoundException",
            "Status": 400,
            "Message": f"Invoice unit {arn} does not exist for this management account",
            "resourceName": arn,
        }


def test_as_of_reads_the_version_in_force_then(client, target, refused):
    clock = target.clock
    t0 = clock.now()
    arn = create(client, "A", PAYER, [M1], Description="v1")
    clock.advance(10)
    client.update_invoice_unit(InvoiceUnitArn=arn, Description="v2")
    clock.advance(10)
    client.delete_invoice_unit(InvoiceUnitArn=arn)
    clock.advance(10)

    def at(seconds):
        return dt.datetime.fromtimestamp(t0 + seconds, dt.timezone.utc)

    assert client.get_invoice_unit(InvoiceUnitArn=arn, AsOf=at(5))["Description"] == "v1"
    assert client.get_invoice_unit(InvoiceUnitArn=arn, AsOf=at(15))["Description"] == "v2"
    for when in (at(-5), at(25)):
        error = refused(client.get_invoice_unit, InvoiceUnitArn=arn, AsOf=when)
        assert error["Message"] == f"Invoice unit {arn} does not exist at the requested AsOf time for this management account"
    assert [u["Description"] for u in client.list_invoice_units(AsOf=at(15))["InvoiceUnits"]] == ["v2"]
    assert client.list_invoice_units(AsOf=at(25))["InvoiceUnits"] == []
    assert client.list_invoice_units()["InvoiceUnits"] == []


@pytest.fixture
def five_units(client):
    return {
        "A": create(client, "A", PAYER, [PAYER, M1]),
        "B": create(client, "B", M2, [M2]),
        "C": create(client, "C", M3, [M4]),
        "D": create(client, "D", M2, [M5]),
        "E": client.create_invoice_unit(
            Name="E", InvoiceReceiver=PAYER, Rule={"BillSourceAccounts": [OUTSIDER]}
        )["InvoiceUnitArn"],
    }


@pytest.mark.parametrize(
    "filters, names",
    [
        ({}, ["A", "B", "C", "D", "E"]),
        ({"Names": ["A", "C", "nope"]}, ["A", "C"]),
        ({"InvoiceReceivers": [M2]}, ["B", "D"]),
        ({"Accounts": [M3, M5]}, ["C", "D"]),  # receiver of C, linked in D
        ({"Accounts": [M1, M4]}, ["A", "C"]),
        ({"Accounts": [PAYER]}, ["A", "E"]),
        ({"BillSourceAccounts": [OUTSIDER]}, ["E"]),
        ({"Accounts": [M2], "Names": ["B", "C"]}, ["B"]),  # AND across types
        ({"InvoiceReceivers": [M2], "Accounts": [M5]}, ["D"]),
        ({"InvoiceReceivers": [PAYER], "BillSourceAccounts": [OUTSIDER], "Names": ["A"]}, []),
        ({"Names": []}, ["A", "B", "C", "D", "E"]),  # an empty list does not filter
    ],
)
def test_filters_and_across_types_or_within_one(client, five_units, target, filters, names):
    listed = client.list_invoice_units(Filters=filters)["InvoiceUnits"]
    assert [unit["Name"] for unit in listed] == names
    # the point-in-time read applies the same filters
    now = dt.datetime.fromtimestamp(target.clock.now(), dt.timezone.utc)
    listed = client.list_invoice_units(Filters=filters, AsOf=now)["InvoiceUnits"]
    assert [unit["Name"] for unit in listed] == names


def test_filters_apply_to_as_of_reads_of_deleted_units(client, five_units, target):
    target.clock.advance(1)
    client.delete_invoice_unit(InvoiceUnitArn=five_units["D"])
    before = dt.datetime.fromtimestamp(target.clock.now() - 0.5, dt.timezone.utc)
    listed = client.list_invoice_units(Filters={"InvoiceReceivers": [M2]}, AsOf=before)["InvoiceUnits"]
    assert [unit["Name"] for unit in listed] == ["B", "D"]
    assert [u["Name"] for u in client.list_invoice_units(Filters={"InvoiceReceivers": [M2]})["InvoiceUnits"]] == ["B"]


def test_pages_cover_every_unit_once(client, target):
    names = [f"U{i:02d}" for i in range(7)]
    for name in names:
        create(client, name)
    seen, token, pages = [], None, 0
    while True:
        page = client.list_invoice_units(MaxResults=3, **({"NextToken": token} if token else {}))
        seen += [unit["Name"] for unit in page["InvoiceUnits"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert (seen, pages) == (names, 3)
    assert [u["Name"] for u in client.get_paginator("list_invoice_units").paginate(PaginationConfig={"PageSize": 2}).build_full_result()["InvoiceUnits"]] == names


def test_forged_foreign_and_stale_page_tokens_are_refused(client, target, refused):
    for i in range(3):
        create(client, f"U{i}")
    token = client.list_invoice_units(MaxResults=1)["NextToken"]
    assert client.list_invoice_units(MaxResults=2, NextToken=token)["InvoiceUnits"]  # page size may change
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    for params in ({"NextToken": forged}, {"NextToken": "garbage"}, {"NextToken": token, "Filters": {"Names": ["U1"]}}):
        error = refused(client.list_invoice_units, **params)
        assert (error["Code"], error["reason"]) == ("ValidationException", "invalidNextToken")
        assert error["fieldList"] == [{"name": "NextToken", "message": "invalid"}]
    preference_token_for_units = target.backend.page_tokens.issue("ListProcurementPortals", "123456789012", "x", 1)
    error = refused(client.list_invoice_units, NextToken=preference_token_for_units)
    assert error["Message"] == "NextToken was issued by ListProcurementPortals, not ListInvoiceUnits; start again without it"
    target.clock.advance(3601)
    error = refused(client.list_invoice_units, NextToken=token)
    assert (error["reason"], error["Message"]) == (
        "expiredNextToken",
        "NextToken expired: it was issued 3601 seconds ago and lives 3600 seconds; start again without a NextToken",
    )


class TestLimits:
    @pytest.fixture
    def backend_options(self):
        big = Organization.of(PAYER, [f"{n:012d}" for n in range(100000000000, 100000001001)])
        return {"organizations": [big], "limits": Limits(invoice_units_per_payer=3)}

    def test_a_payer_has_at_most_the_limit_of_live_units(self, client, refused):
        for name in "ABC":
            create(client, name)
        error = refused(client.create_invoice_unit, Name="D", InvoiceReceiver=PAYER, Rule={})
        assert (error["reason"], error["Message"]) == (
            "maxInvoiceUnitsExceeded",
            f"Management account {PAYER} already has 3 invoice units, the maximum",
        )

    def test_a_rule_holds_at_most_1000_accounts_in_all(self, client, refused):
        linked = [f"{n:012d}" for n in range(100000000000, 100000001000)]
        error = refused(
            client.create_invoice_unit,
            Name="Big",
            InvoiceReceiver=PAYER,
            Rule={"LinkedAccounts": linked, "BillSourceAccounts": [OUTSIDER]},
        )
        assert (error["reason"], error["fieldList"]) == ("maxAccountsExceeded", [{"name": "Rule", "message": "1001 accounts"}])
        assert create(client, "Big", PAYER, linked)


def test_the_default_limit_is_500_units(inprocess, refused):
    client = inprocess.client()
    for i in range(500):
        client.create_invoice_unit(Name=f"U{i}", InvoiceReceiver=PAYER, Rule={})
    assert refused(client.create_invoice_unit, Name="U500", InvoiceReceiver=PAYER, Rule={})["reason"] == "maxInvoiceUnitsExceeded"
