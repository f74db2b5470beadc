"""The reference model (contracts/engine/reference.py) against the correct emulator and the planted faults its
state machines must see: each scenario feeds the reference the calls that executed and compares the target's
reads with it. Against the emulator nothing differs; against the variant the rare path shows."""

from __future__ import annotations

import boto3
import pytest

from contracts.engine.reference import ABSENT, ReferenceModel
from contracts.packs.contract import load
from contracts.suite.test_idempotency import _RUN, _distinct_tags, _token_variant
from invoicing_mock import mock_invoicing
from invoicing_mock.models import InvoicingBackend
from invoicing_mock.mutants import CATALOGUE

PAYER, MEMBER = "123456789012", "111111111111"  # the default organisation's
CONTACTS = [{"Name": "n", "Email": "n@example.com"}]


def client(account: str = PAYER):
    return boto3.client("invoicing", region_name="us-east-1", aws_access_key_id=account,
                        aws_secret_access_key="testing")


def unit_view(c, arn):
    return c.get_invoice_unit(InvoiceUnitArn=arn)


def preference_view(c, arn):
    return c.get_procurement_portal_preference(ProcurementPortalPreferenceArn=arn)["ProcurementPortalPreference"]


# ------------------------------------------------------------------------------------- scenarios: what differs


def update_leaving_description_out(ref: ReferenceModel):
    c = client()
    create = {"Name": "u", "InvoiceReceiver": PAYER, "Description": "kept", "Rule": {}}
    arn = c.create_invoice_unit(**create, ClientToken="a")["InvoiceUnitArn"]
    ref.created("CreateInvoiceUnit", arn, create)
    update = {"InvoiceUnitArn": arn, "TaxInheritanceDisabled": True}
    c.update_invoice_unit(**update, ClientToken="b")
    ref.changed("UpdateInvoiceUnit", arn, update)
    return ref.mismatches(arn, unit_view(c, arn))


def put_leaving_endpoint_out(ref: ReferenceModel):
    c = client()
    create = {"ProcurementPortalName": "COUPA", "BuyerDomain": "NetworkID", "BuyerIdentifier": "b",
              "SupplierDomain": "NetworkID", "SupplierIdentifier": "s", "Contacts": CONTACTS,
              "EinvoiceDeliveryEnabled": False, "PurchaseOrderRetrievalEnabled": False,
              "ProcurementPortalInstanceEndpoint": "https://portal.example.com/in"}
    arn = c.create_procurement_portal_preference(**create, ClientToken="a")["ProcurementPortalPreferenceArn"]
    ref.created("CreateProcurementPortalPreference", arn, create)
    put = {"ProcurementPortalPreferenceArn": arn, "Contacts": CONTACTS, "EinvoiceDeliveryEnabled": False,
           "PurchaseOrderRetrievalEnabled": False}
    c.put_procurement_portal_preference(**put, ClientToken="b")
    ref.changed("PutProcurementPortalPreference", arn, put)
    return ref.mismatches(arn, preference_view(c, arn))


def replay_of_an_earlier_update(ref: ReferenceModel):
    c = client()
    create = {"Name": "u", "InvoiceReceiver": PAYER, "Rule": {}}
    arn = c.create_invoice_unit(**create, ClientToken="a")["InvoiceUnitArn"]
    ref.created("CreateInvoiceUnit", arn, create)
    for description, token in (("first", "b"), ("second", "c")):
        c.update_invoice_unit(InvoiceUnitArn=arn, Description=description, ClientToken=token)
        ref.changed("UpdateInvoiceUnit", arn, {"InvoiceUnitArn": arn, "Description": description})
    c.update_invoice_unit(InvoiceUnitArn=arn, Description="first", ClientToken="b")  # a replay: no effect
    return ref.mismatches(arn, unit_view(c, arn))


def untag_of_several_keys(ref: ReferenceModel):
    c = client()
    create = {"Name": "u", "InvoiceReceiver": PAYER, "Rule": {},
              "ResourceTags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}, {"Key": "c", "Value": "3"}]}
    arn = c.create_invoice_unit(**create)["InvoiceUnitArn"]
    ref.created("CreateInvoiceUnit", arn, create)
    c.untag_resource(ResourceArn=arn, ResourceTagKeys=["a", "b"])
    ref.untagged(arn, ["a", "b"])
    return ref.tag_mismatches(arn, c.list_tags_for_resource(ResourceArn=arn)["ResourceTags"])


SCENARIOS = {
    "UpdateClearsOmittedDescription": update_leaving_description_out,
    "PutKeepsOmittedEndpoint": put_leaving_endpoint_out,
    "ReplayOfEarlierUpdateReverts": replay_of_an_earlier_update,
    "UntagKeepsLastKey": untag_of_several_keys,
}


def observe(factory, scenario):
    with mock_invoicing(backend=factory()):
        return scenario(ReferenceModel(load()))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_reference_agrees_with_the_emulator_and_sees_the_planted_fault(name):
    assert observe(InvoicingBackend, SCENARIOS[name]) == []
    found = observe(CATALOGUE[name].cls, SCENARIOS[name])
    assert found, f"the reference model does not see {name}"
    print(f"{name}: {[m if isinstance(m, str) else m.describe() for m in found]}")


# ------------------------------------------------------------------------------------- the expectations' rules


def test_update_keeps_omitted_members_and_put_clears_them():
    ref = ReferenceModel(load())
    ref.created("CreateInvoiceUnit", "u", {"Name": "n", "InvoiceReceiver": PAYER, "Description": "d", "Rule": {}})
    ref.changed("UpdateInvoiceUnit", "u", {"InvoiceUnitArn": "u", "TaxInheritanceDisabled": True})
    members = ref.states["u"].members
    assert members["Description"].value == "d" and members["Description"].expectation == "update_keeps_omitted"
    assert members["TaxInheritanceDisabled"].value is True and members["Name"].value == "n"
    ref.created("CreateProcurementPortalPreference", "p",
                {"ProcurementPortalName": "COUPA", "ProcurementPortalInstanceEndpoint": "https://x"})
    ref.changed("UpdateProcurementPortalPreferenceStatus", "p", {"EinvoiceDeliveryPreferenceStatus": "ACTIVE"})
    assert ref.states["p"].members["EinvoiceDeliveryPreferenceStatus"].value == "ACTIVE"
    ref.changed("PutProcurementPortalPreference", "p", {"Contacts": CONTACTS})
    members = ref.states["p"].members
    assert members["ProcurementPortalInstanceEndpoint"].value is ABSENT
    assert members["ProcurementPortalInstanceEndpoint"].expectation == "put_clears_omitted"
    assert members["ProcurementPortalName"].value == "COUPA"  # identity: not a member Put carries
    assert "EinvoiceDeliveryPreferenceStatus" not in members  # a Put may reset it: unknown, not compared


def test_every_executed_call_adds_a_version_that_reads_of_the_past_compare_with():
    """AsOf reads are compared with the version in force then, kept by the reference from the suite's own calls:
    as created after an update, and still after the delete ("You can see legacy invoice units that are currently
    deleted if the AsOf time is set to before it was deleted")."""
    ref = ReferenceModel(load())
    ref.created("CreateInvoiceUnit", "u", {"Name": "n", "InvoiceReceiver": PAYER, "Description": "first", "Rule": {}})
    ref.changed("UpdateInvoiceUnit", "u", {"InvoiceUnitArn": "u", "Description": "second"})
    ref.deleted("u")
    then = {"Name": "n", "InvoiceReceiver": PAYER, "Description": "first", "Rule": {}}
    now = {**then, "Description": "second"}
    assert ref.mismatches("u", then, version=0) == [] and ref.mismatches("u", now, version=1) == []
    assert [m.member for m in ref.mismatches("u", now, version=0)] == ["Description"]
    assert ref.states["u"].versions[2] is None
    assert ref.states["u"].members == {}  # the current state: gone


def test_absent_accepts_nothing_or_empty_and_a_sent_value_must_show():
    ref = ReferenceModel(load())
    ref.created("CreateInvoiceUnit", "u", {"Name": "n", "InvoiceReceiver": PAYER, "Rule": {}})
    view = {"Name": "n", "InvoiceReceiver": PAYER, "Rule": {}}
    assert ref.mismatches("u", view) == []
    assert ref.mismatches("u", {**view, "TaxInheritanceDisabled": False, "Description": ""}) == []
    assert [m.member for m in ref.mismatches("u", {**view, "Description": "x"})] == ["Description"]
    assert [m.member for m in ref.mismatches("u", {"InvoiceReceiver": PAYER, "Rule": {}})] == ["Name"]


def test_tags_merge_remove_and_on_a_shared_target_only_touched_keys_count():
    ref = ReferenceModel(load())
    ref.created("CreateInvoiceUnit", "u", {"ResourceTags": [{"Key": "a", "Value": "1"}]})
    ref.tagged("u", [{"Key": "a", "Value": "2"}, {"Key": "b", "Value": "3"}])
    ref.untagged("u", ["b"])
    assert ref.tag_mismatches("u", [{"Key": "a", "Value": "2"}]) == []
    assert ref.tag_mismatches("u", [{"Key": "a", "Value": "2"}, {"Key": "b", "Value": "3"}])
    assert ref.tag_mismatches("u", [{"Key": "a", "Value": "2"}, {"Key": "run", "Value": "x"}])
    ref.created("CreateInvoiceUnit", "v", {}, tags_complete=False)  # a real account adds its run's tags
    assert ref.tag_mismatches("v", [{"Key": "run", "Value": "x"}]) == []


def test_token_variants_differ_from_their_source_only_as_announced_and_never_repeat_a_token():
    token = "Ab~r1a2b3c4d-17"
    swapped, changed = _token_variant(token, "case swapped"), _token_variant(token, "one character changed")
    assert swapped != token and swapped.casefold() == token.casefold()
    assert changed != token and sum(a != b for a, b in zip(token, changed)) == 1 and len(changed) == len(token)
    assert _token_variant(swapped, "case swapped") == token  # the machine falls back to a fresh one then
    assert len({token, swapped, changed, _token_variant(changed, "one character changed")}) == 4
    # Past a UUID's length: a store keeping 36 characters would take the variant for the token itself.
    ours = f"t~{_RUN}-3"
    assert len(ours) > 36 and _token_variant(ours, "one character changed")[:36] == ours[:36]
    # A variant of a variant never ends in a digit, so it is never a later fresh token (seed 896971: the variant
    # of "...-36j" was "...-360", the run's 360th token, and a correct emulator answered a conflict).
    fresh = {f"t~{_RUN}-{n}" for n in range(1, 500)}
    variants = set()
    for token in fresh:
        for _ in range(3):
            token = _token_variant(token, "one character changed")
            variants.add(token)
    assert not variants & fresh


def test_the_untag_rule_always_has_several_distinct_keys():
    assert [t["Key"] for t in _distinct_tags([])] == ["k-2", "k-3"]
    assert [t["Key"] for t in _distinct_tags([{"Key": "x", "Value": ""}, {"Key": "x", "Value": "v"}])] == ["x", "x-2"]
    assert len(_distinct_tags([{"Key": str(i), "Value": ""} for i in range(9)])) == 4
