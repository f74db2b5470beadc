"""Each rare-path variant (invoicing_mock/rare_paths.py) really plants its fault: a boto3 scenario that takes the
rare path answers differently against the variant than against the correct emulator, so a variant the suite
misses is a gap of the suite, not a variant that never fires. The scenarios are hand-made, one per variant; the
common path stays correct in every variant (test_mutants.py's smoke test)."""

from __future__ import annotations

import datetime

import boto3
import pytest
from botocore.exceptions import ClientError

from invoicing_mock import mock_invoicing
from invoicing_mock.mutants import CATALOGUE  # importing it fills the catalogue, rare paths included
from invoicing_mock.models import InvoicingBackend

PAYER, MEMBER, OTHER_MEMBER = "123456789012", "111111111111", "222222222222"  # the default organisation's


def client(account: str = PAYER):
    return boto3.client("invoicing", region_name="us-east-1", aws_access_key_id=account,
                        aws_secret_access_key="testing")


def answer(fn, **params):
    """The response, or the error code and reason: what a caller can tell apart."""
    try:
        response = fn(**params)
        response.pop("ResponseMetadata", None)
        return response
    except ClientError as error:
        return ("error", error.response["Error"]["Code"], error.response.get("reason"))


def unit(c, name="unit", **extra):
    return c.create_invoice_unit(Name=name, InvoiceReceiver=PAYER, Rule=extra.pop("Rule", {}),
                                 **extra)["InvoiceUnitArn"]


def preference(c, **extra):
    return c.create_procurement_portal_preference(
        ProcurementPortalName="COUPA", BuyerDomain="NetworkID", BuyerIdentifier="buyer", SupplierDomain="NetworkID",
        SupplierIdentifier="supplier", EinvoiceDeliveryEnabled=True, PurchaseOrderRetrievalEnabled=False,
        Contacts=[{"Name": "n", "Email": "n@example.com"}], **extra)["ProcurementPortalPreferenceArn"]


def names(response) -> list[str]:
    return [u["Name"] for u in response.get("InvoiceUnits", ())] if isinstance(response, dict) else response


# --------------------------------------------------------------------------------------------------- scenarios
# Each takes the backend (for its clock) and returns what the caller observes on the rare path.


def later_pages_ignore_filters(backend):
    c = client()
    for name in ("a", "b", "c"):
        unit(c, name)
    filters = {"Names": ["a", "c"]}
    first = c.list_invoice_units(Filters=filters, MaxResults=1)
    second = c.list_invoice_units(Filters=filters, MaxResults=1, NextToken=first["NextToken"])
    return names(first) + names(second)  # correct: a, c


def names_filter_ignores_case(backend):
    c = client()
    unit(c, "Ab")
    return names(c.list_invoice_units(Filters={"Names": ["ab"]}))  # correct: none


def accounts_filter_matches_receiver_only(backend):
    c = client()
    unit(c, Rule={"LinkedAccounts": [MEMBER]})
    return names(c.list_invoice_units(Filters={"Accounts": [MEMBER]}))  # correct: the unit linking MEMBER


def max_results_at_maximum_refused(backend):
    return answer(client().list_invoice_units, MaxResults=500)


def name_at_max_length_truncated(backend):
    c = client()
    return len(c.get_invoice_unit(InvoiceUnitArn=unit(c, "n" * 50))["Name"])


def description_at_max_refused(backend):
    return answer(client().create_invoice_unit, Name="u", InvoiceReceiver=PAYER, Rule={}, Description="d" * 500)


def name_length_counted_in_bytes(backend):
    return answer(client().create_invoice_unit, Name="é" * 30, InvoiceReceiver=PAYER, Rule={})  # 30 chars, 60 bytes


def longest_status_truncated(backend):
    c = client()
    arn = preference(c)
    c.update_procurement_portal_preference_status(ProcurementPortalPreferenceArn=arn,
                                                  EinvoiceDeliveryPreferenceStatus="TEST_INITIALIZATION_FAILED")
    view = c.get_procurement_portal_preference(ProcurementPortalPreferenceArn=arn)["ProcurementPortalPreference"]
    return view["EinvoiceDeliveryPreferenceStatus"]


def tokens_ignore_case(backend):
    c = client()
    unit(c, "one", ClientToken="Token-A")
    return answer(c.create_invoice_unit, Name="two", InvoiceReceiver=PAYER, Rule={}, ClientToken="token-a")


def tokens_compared_by_prefix(backend):
    c = client()
    unit(c, "one", ClientToken="t" * 36 + "-first")
    return answer(c.create_invoice_unit, Name="two", InvoiceReceiver=PAYER, Rule={}, ClientToken="t" * 36 + "-second")


def tokens_shared_inside_organisation(backend):
    preference(client(PAYER), ClientToken="shared-token")
    arn = preference(client(MEMBER), ClientToken="shared-token")
    return arn.split(":")[4]  # the account the member's new preference belongs to: its own


def replay_of_earlier_update_reverts(backend):
    c = client()
    arn = unit(c)
    c.update_invoice_unit(InvoiceUnitArn=arn, Description="one", ClientToken="u1")
    c.update_invoice_unit(InvoiceUnitArn=arn, Description="two", ClientToken="u2")
    c.update_invoice_unit(InvoiceUnitArn=arn, Description="one", ClientToken="u1")  # a late retry of the first
    return c.get_invoice_unit(InvoiceUnitArn=arn).get("Description")  # correct: two


def update_clears_omitted_description(backend):
    c = client()
    arn = unit(c, Description="keep")
    c.update_invoice_unit(InvoiceUnitArn=arn, TaxInheritanceDisabled=True)
    return c.get_invoice_unit(InvoiceUnitArn=arn).get("Description")


def put_keeps_omitted_endpoint(backend):
    c = client()
    arn = preference(c, ProcurementPortalInstanceEndpoint="https://portal.example.com")
    c.put_procurement_portal_preference(ProcurementPortalPreferenceArn=arn, EinvoiceDeliveryEnabled=True,
                                        PurchaseOrderRetrievalEnabled=False,
                                        Contacts=[{"Name": "n", "Email": "n@example.com"}])
    view = c.get_procurement_portal_preference(ProcurementPortalPreferenceArn=arn)["ProcurementPortalPreference"]
    return view.get("ProcurementPortalInstanceEndpoint")  # correct: cleared


def as_of_after_delete_not_found(backend):
    c = client()
    arn = unit(c)
    created = c.get_invoice_unit(InvoiceUnitArn=arn)["LastModified"]
    backend.advance_clock(60)
    c.delete_invoice_unit(InvoiceUnitArn=arn)
    read = answer(c.get_invoice_unit, InvoiceUnitArn=arn, AsOf=created + datetime.timedelta(seconds=30))
    return read.get("Name") if isinstance(read, dict) else read  # correct: the unit as it was


def last_linked_account_dropped(backend):
    c = client()
    arn = unit(c, Rule={"LinkedAccounts": [MEMBER, OTHER_MEMBER]})
    return c.get_invoice_unit(InvoiceUnitArn=arn)["Rule"]["LinkedAccounts"]


def untag_keeps_last_key(backend):
    c = client()
    arn = unit(c, ResourceTags=[{"Key": "k1", "Value": "v"}, {"Key": "k2", "Value": "v"}])
    c.untag_resource(ResourceArn=arn, ResourceTagKeys=["k1", "k2"])
    return c.list_tags_for_resource(ResourceArn=arn)["ResourceTags"]


def batch_profile_drops_last(backend):
    return len(client().batch_get_invoice_profile(AccountIds=[PAYER, MEMBER])["Profiles"])


def tag_quota_off_by_one(backend):
    c = client()
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(200)]  # exactly the model's ResourceTagList max
    return answer(c.tag_resource, ResourceArn=unit(c), ResourceTags=tags)


def member_sees_other_members_invoices(backend):
    read = answer(client(MEMBER).list_invoice_summaries, Selector={"ResourceType": "ACCOUNT_ID",
                                                                   "Value": OTHER_MEMBER})
    return read if isinstance(read, tuple) else "answered"  # correct: ResourceNotFoundException


SCENARIOS = {
    "LaterPagesIgnoreFilters": later_pages_ignore_filters,
    "NamesFilterIgnoresCase": names_filter_ignores_case,
    "AccountsFilterMatchesReceiverOnly": accounts_filter_matches_receiver_only,
    "MaxResultsAtMaximumRefused": max_results_at_maximum_refused,
    "NameAtMaxLengthTruncated": name_at_max_length_truncated,
    "DescriptionAtMaxRefused": description_at_max_refused,
    "NameLengthCountedInBytes": name_length_counted_in_bytes,
    "LongestStatusTruncated": longest_status_truncated,
    "TokensIgnoreCase": tokens_ignore_case,
    "TokensComparedByPrefix": tokens_compared_by_prefix,
    "TokensSharedInsideOrganisation": tokens_shared_inside_organisation,
    "ReplayOfEarlierUpdateReverts": replay_of_earlier_update_reverts,
    "UpdateClearsOmittedDescription": update_clears_omitted_description,
    "PutKeepsOmittedEndpoint": put_keeps_omitted_endpoint,
    "AsOfAfterDeleteNotFound": as_of_after_delete_not_found,
    "LastLinkedAccountDropped": last_linked_account_dropped,
    "UntagKeepsLastKey": untag_keeps_last_key,
    "BatchProfileDropsLast": batch_profile_drops_last,
    "TagQuotaOffByOne": tag_quota_off_by_one,
    "MemberSeesOtherMembersInvoices": member_sees_other_members_invoices,
}
RARE = [name for name, variant in CATALOGUE.items() if variant.cls.__module__ == "invoicing_mock.rare_paths"]


def observe(factory, scenario):
    backend = factory()
    with mock_invoicing(backend=backend):
        return scenario(backend)


def test_every_rare_path_variant_has_a_scenario_and_there_are_at_least_15():
    assert len(RARE) >= 15 and set(RARE) == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_rare_path_shows_the_fault_against_the_variant_only(name):
    correct = observe(InvoicingBackend, SCENARIOS[name])
    planted = observe(CATALOGUE[name].cls, SCENARIOS[name])
    assert planted != correct, f"{name} answers the rare path as the emulator does: {correct!r}"
    print(f"{name}: emulator {correct!r}; variant {planted!r}")
