"""The oracle: what the suite predicts a valid request may be refused for, from the calls it saw succeed."""

from __future__ import annotations

import pytest

from contracts.calls import Call, Outcome
from contracts.engine.oracle import Oracle

PAYER, MEMBER, OTHER_MEMBER, STRANGER = "123456789012", "111111111111", "222222222222", "999999999999"
UNIT = "arn:aws:invoicing::123456789012:invoice-unit/aaaa0001"
PREF = "arn:aws:invoicing::123456789012:procurement-portal-preference/bbbb0001"


def ok(body: dict) -> Outcome:
    return Outcome(sent=True, status=200, response=dict(body), wire=dict(body))


def oracle(**kwargs) -> Oracle:
    return Oracle(PAYER, (MEMBER, OTHER_MEMBER), **kwargs)


def unit_params(name="u", receiver=PAYER, linked=(), token="t1") -> dict:
    return {"Name": name, "InvoiceReceiver": receiver, "Rule": {"LinkedAccounts": list(linked)}, "ClientToken": token}


def created(o: Oracle, params: dict, arn: str = UNIT) -> None:
    o.observe(Call("CreateInvoiceUnit", params, ok({"InvoiceUnitArn": arn})))


def test_nothing_is_predicted_for_a_request_the_state_allows():
    o = oracle()
    assert o.predict("CreateInvoiceUnit", unit_params()) == {}


def test_a_taken_name_is_predicted_once_the_suite_saw_the_create():
    o = oracle()
    created(o, unit_params(name="taken"))
    assert "ValidationException:duplicateInvoiceUnit" in o.predict("CreateInvoiceUnit", unit_params(name="taken"))
    assert o.predict("CreateInvoiceUnit", unit_params(name="free")) == {}
    o.observe(Call("DeleteInvoiceUnit", {"InvoiceUnitArn": UNIT, "ClientToken": "d"}, ok({"InvoiceUnitArn": UNIT})))
    assert o.predict("CreateInvoiceUnit", unit_params(name="taken")) == {}


def test_outsiders_and_rule_clashes_are_predicted():
    o = oracle()
    assert "ValidationException:nonMemberPresent" in o.predict("CreateInvoiceUnit", unit_params(receiver=STRANGER))
    created(o, unit_params(name="a", linked=[MEMBER]))
    assert "ValidationException:accountMembershipError" in o.predict(
        "CreateInvoiceUnit", unit_params(name="b", linked=[MEMBER]))
    # MEMBER is linked in a unit it does not receive: it cannot receive another one.
    assert "ValidationException:mutualExclusionError" in o.predict(
        "CreateInvoiceUnit", unit_params(name="b", receiver=MEMBER))
    # PAYER receives unit a: it can be linked only in a unit it receives.
    assert "ValidationException:mutualExclusionError" in o.predict(
        "CreateInvoiceUnit", unit_params(name="b", receiver=OTHER_MEMBER, linked=[PAYER]))


def test_an_update_changes_the_rule_the_oracle_knows_and_its_replay_does_not():
    o = oracle()
    created(o, unit_params(name="a", linked=[MEMBER], token="create"))
    update = {"InvoiceUnitArn": UNIT, "Rule": {"LinkedAccounts": [OTHER_MEMBER]}, "ClientToken": "u1"}
    o.observe(Call("UpdateInvoiceUnit", update, ok({"InvoiceUnitArn": UNIT})))
    assert "ValidationException:mutualExclusionError" in o.predict("CreateInvoiceUnit",
                                                                   unit_params(name="b", receiver=OTHER_MEMBER))
    # A replay of the create answers the first result and has no effect: the rule stays the updated one.
    created(o, unit_params(name="a", linked=[MEMBER], token="create"))
    assert o.predict("CreateInvoiceUnit", unit_params(name="b", receiver=MEMBER)) == {}


def test_not_found_is_predicted_only_for_what_the_suite_does_not_know_to_exist():
    o = oracle()
    assert "ResourceNotFoundException" in o.predict("GetInvoiceUnit", {"InvoiceUnitArn": UNIT})
    created(o, unit_params())
    assert o.predict("GetInvoiceUnit", {"InvoiceUnitArn": UNIT}) == {}
    assert "ResourceNotFoundException" in o.predict("GetInvoiceUnit", {"InvoiceUnitArn": UNIT, "AsOf": 0})
    assert "ResourceNotFoundException" in o.predict("GetInvoicePDF", {"InvoiceId": "E-1"})
    o.observe(Call("ListInvoiceSummaries", {}, ok({"InvoiceSummaries": [{"InvoiceId": "E-1"}]})))
    assert o.predict("GetInvoicePDF", {"InvoiceId": "E-1"}) == {}
    selector = {"Selector": {"ResourceType": "ACCOUNT_ID", "Value": MEMBER}}
    assert o.predict("ListInvoiceSummaries", selector) == {}
    selector = {"Selector": {"ResourceType": "INVOICE_ID", "Value": MEMBER}}  # an account is not an invoice
    assert "ResourceNotFoundException" in o.predict("ListInvoiceSummaries", selector)


def test_next_tokens_are_predicted_refused_unless_issued():
    o = oracle()
    assert "ValidationException:invalidNextToken" in o.predict("ListInvoiceUnits", {"NextToken": "made-up"})
    o.observe(Call("ListInvoiceUnits", {}, ok({"InvoiceUnits": [], "NextToken": "issued"})))
    assert o.predict("ListInvoiceUnits", {"NextToken": "issued"}) == {}


def test_preferences_conflict_on_their_identity_and_verify_on_the_code():
    o = oracle(validation_code=lambda account, arn: "123456" if arn == PREF else None)
    params = {"ProcurementPortalName": "COUPA", "BuyerDomain": "NetworkID", "BuyerIdentifier": "b",
              "SupplierDomain": "NetworkID", "SupplierIdentifier": "s", "ClientToken": "p"}
    o.observe(Call("CreateProcurementPortalPreference", params, ok({"ProcurementPortalPreferenceArn": PREF})))
    assert "ConflictException" in o.predict("CreateProcurementPortalPreference", {**params, "ClientToken": "q"})
    assert o.predict("CreateProcurementPortalPreference", {**params, "BuyerIdentifier": "c"}) == {}
    verify = {"ProcurementPortalPreferenceArn": PREF, "Code": "123456"}
    assert o.predict("VerifyProcurementPortalValidation", verify) == {}
    assert "ValidationException:invalidInput" in o.predict("VerifyProcurementPortalValidation",
                                                           {**verify, "Code": "000000"})


@pytest.mark.parametrize("rate_limited", [False, True])
def test_throttling_is_predicted_only_where_the_target_throttles(rate_limited):
    predicted = oracle(rate_limited=rate_limited).predict("ListInvoiceUnits", {})
    assert ("ThrottlingException" in predicted) == rate_limited


def test_resync_replaces_what_the_suite_knew():
    o = oracle()
    created(o, unit_params(name="gone"))
    o.resync(None, [{"InvoiceUnitArn": "arn:aws:invoicing::123456789012:invoice-unit/cccc", "Name": "there",
                     "InvoiceReceiver": PAYER, "Rule": {}}], [])
    assert o.predict("CreateInvoiceUnit", unit_params(name="gone")) == {}
    assert "ValidationException:duplicateInvoiceUnit" in o.predict("CreateInvoiceUnit", unit_params(name="there"))


def tags(*keys: str) -> list[dict]:
    return [{"Key": key, "Value": "v"} for key in keys]


def test_the_tag_quota_is_predicted_only_past_the_maximum_of_distinct_keys():
    from contracts.engine.oracle import TAGS_PER_RESOURCE

    o = oracle()
    created(o, {**unit_params(), "ResourceTags": tags("a", "b")})
    full = [f"k{i}" for i in range(TAGS_PER_RESOURCE - 2)]
    assert o.predict("TagResource", {"ResourceArn": UNIT, "ResourceTags": tags(*full)}) == {}  # exactly the max
    assert o.predict("TagResource", {"ResourceArn": UNIT, "ResourceTags": tags(*full, "a")}) == {}  # a key held
    assert "ServiceQuotaExceededException" in o.predict(
        "TagResource", {"ResourceArn": UNIT, "ResourceTags": tags(*full, "one more")})
    o.observe(Call("UntagResource", {"ResourceArn": UNIT, "ResourceTagKeys": ["a"]}, ok({})))
    assert o.predict("TagResource", {"ResourceArn": UNIT, "ResourceTags": tags(*full, "one more")}) == {}
    o.observe(Call("TagResource", {"ResourceArn": UNIT, "ResourceTags": tags(*full)}, ok({})))
    assert "ServiceQuotaExceededException" in o.predict("TagResource", {"ResourceArn": UNIT,
                                                                        "ResourceTags": tags("x", "y")})
