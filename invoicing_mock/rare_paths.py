"""Planted faults that fire only on rare paths: a later page, one enum value, a length of exactly the maximum,
tokens that differ only in case or after a long common prefix, an update that leaves a member out, a read of the
past after a delete, the tag quota reached exactly, the last item of a list, a second account of the organisation,
a replay after a later change, one filter or a filter on a later page, non-ASCII names.

Each variant is a small subclass of the correct emulator overriding one public hook or operation method (as in
`invoicing_mock.mutants`; they join its catalogue with `@planted(fault, expected)`), and fires only when its rare
condition holds, so a suite that never builds that state cannot see it. Everywhere else it is the emulator.

    invoicing-contracts mutants --variants LaterPagesIgnoreFilters --seed 1
"""

from __future__ import annotations

import copy

from invoicing_mock.exceptions import ResourceNotFoundException, ServiceQuotaExceededException, ValidationException
from invoicing_mock.models import InvoicingBackend
from invoicing_mock.catalogue import planted
from strategies import service_model

_MODEL = service_model("invoicing")
_NAME_MAX = _MODEL.shape_for("InvoiceUnitName").metadata["max"]  # 50
_DESCRIPTION_MAX = _MODEL.operation_model("CreateInvoiceUnit").input_shape.members["Description"].metadata["max"]
_UNITS_PAGE_MAX = _MODEL.shape_for("MaxResultsInteger").metadata["max"]  # 500


def _refused(member: str, message: str) -> ValidationException:
    return ValidationException(f"1 validation error detected: {member}: {message}", reason="fieldValidationFailed",
                               field_list=[{"name": member, "message": message}])


# ------------------------------------------------------------------------------------------- pages and filters


@planted("a page reached through NextToken ignores the list filters", "state-matches-reads")
class LaterPagesIgnoreFilters(InvoicingBackend):
    """ListInvoiceUnits applies Filters on the first page only: a page reached through a NextToken lists every
    live unit after the cursor (the cursor was stored, the filter was not). One page, or no filter: correct."""

    def list_invoice_units(self, account, params):
        result = super().list_invoice_units(account, params)
        if "NextToken" not in params or not any((params.get("Filters") or {}).values()) or "AsOf" in params:
            return result
        after = self.page_position("ListInvoiceUnits", account, params) or 0
        live = sorted((h for h in self.invoice_unit_histories(account).values()
                       if h.seq > after and h.current is not None), key=lambda h: h.seq)
        result["InvoiceUnits"] = [dict(h.current) for h in live[: params.get("MaxResults", _UNITS_PAGE_MAX)]]
        return result


@planted("the Names filter matches names that differ only in letter case", "state-matches-reads")
class NamesFilterIgnoresCase(InvoicingBackend):
    """ListInvoiceUnits matches Filters.Names case-insensitively (a collation that folds case): a unit named
    "Ab" is listed for the filter "ab". Names that differ in more than case: correct."""

    def list_invoice_units(self, account, params):
        names = (params.get("Filters") or {}).get("Names")
        if not names:
            return super().list_invoice_units(account, params)
        folded = {name.casefold() for name in names}
        stored = {h.current["Name"] for h in self.invoice_unit_histories(account).values() if h.current}
        wider = list(dict.fromkeys([*names, *sorted(n for n in stored if n.casefold() in folded)]))
        return super().list_invoice_units(account, {**params, "Filters": {**params["Filters"], "Names": wider}})


@planted("the Accounts filter matches receivers only, not linked accounts", "state-matches-reads")
class AccountsFilterMatchesReceiverOnly(InvoicingBackend):
    """ListInvoiceUnits reads Filters.Accounts as InvoiceReceivers, where the model documents "matched with either
    the receiver or the linked accounts in the rules": a unit that only links the account is missing."""

    def list_invoice_units(self, account, params):
        filters = params.get("Filters") or {}
        if not filters.get("Accounts") or filters.get("InvoiceReceivers"):
            return super().list_invoice_units(account, params)
        narrowed = {k: v for k, v in filters.items() if k != "Accounts"}
        return super().list_invoice_units(account, {**params, "Filters": {**narrowed,
                                                                          "InvoiceReceivers": filters["Accounts"]}})


@planted("MaxResults of exactly the maximum refused", "valid-requests")
class MaxResultsAtMaximumRefused(InvoicingBackend):
    """The server's bound check on ListInvoiceUnits.MaxResults is off by one (`>=` for `>`): exactly the model's
    maximum (500) is refused with ValidationException. 1..499: correct."""

    def validate(self, call):
        super().validate(call)
        if call.operation == "ListInvoiceUnits" and call.params.get("MaxResults") == _UNITS_PAGE_MAX:
            raise _refused("MaxResults", f"must be less than {_UNITS_PAGE_MAX}")


# ------------------------------------------------------------------------------------- lengths, Unicode, enums


@planted("a Name of exactly 50 characters is stored cut to 49", "state-matches-reads")
class NameAtMaxLengthTruncated(InvoicingBackend):
    """CreateInvoiceUnit stores a Name of exactly the maximum length (50) without its last character (a column
    one short): the unit reads back under another name. Shorter names: correct."""

    def create_invoice_unit(self, account, params):
        if len(params["Name"]) == _NAME_MAX:
            params = {**params, "Name": params["Name"][:-1]}
        return super().create_invoice_unit(account, params)


@planted("a Description of exactly the maximum length refused", "valid-requests")
class DescriptionAtMaxRefused(InvoicingBackend):
    """Create/UpdateInvoiceUnit refuse a Description of exactly the maximum length (500) with
    ValidationException: an off-by-one in the server's own length check. Shorter ones: correct."""

    def validate(self, call):
        super().validate(call)
        if call.operation in ("CreateInvoiceUnit", "UpdateInvoiceUnit") and \
                len(call.params.get("Description") or "") == _DESCRIPTION_MAX:
            raise _refused("Description", f"must be shorter than {_DESCRIPTION_MAX} characters")


@planted("Name length counted in UTF-8 bytes: a non-ASCII name of at most 50 characters refused", "valid-requests")
class NameLengthCountedInBytes(InvoicingBackend):
    """The server checks InvoiceUnitName's max=50 on the UTF-8 bytes, not the characters: a valid name with
    letters outside ASCII (é, 中) that is longer than 50 bytes is refused. ASCII names: correct."""

    def validate(self, call):
        super().validate(call)
        name = call.params.get("Name")
        if call.operation == "CreateInvoiceUnit" and isinstance(name, str) and len(name.encode()) > _NAME_MAX:
            raise _refused("Name", f"must be at most {_NAME_MAX} characters")


@planted("the longest status value (TEST_INITIALIZATION_FAILED) is stored cut to 20 characters", "output-schema")
class LongestStatusTruncated(InvoicingBackend):
    """UpdateProcurementPortalPreferenceStatus stores statuses in a 20-character column: only the longest enum
    value, TEST_INITIALIZATION_FAILED (26), is cut, and GetProcurementPortalPreference answers a value outside
    the enum. The six other values: correct."""

    def update_procurement_portal_preference_status(self, account, params):
        cut = {k: v[:20] if k.endswith("PreferenceStatus") and isinstance(v, str) else v for k, v in params.items()}
        return super().update_procurement_portal_preference_status(account, cut)


# ----------------------------------------------------------------------------------------------------- tokens


@planted("tokens that differ only in letter case are one token", "independence")
class TokensIgnoreCase(InvoicingBackend):
    """The token store folds case (a case-insensitive key): "Abc" and "abc" are one token, so the second request
    is answered as a replay of the first, or refused as a conflict. Tokens that differ otherwise: correct."""

    def lookup_token(self, call, token):
        return super().lookup_token(call, token.casefold())

    def remember_token(self, call, token, digest, result):
        super().remember_token(call, token.casefold(), digest, result)


@planted("tokens compared by their first 36 characters only", "independence")
class TokensComparedByPrefix(InvoicingBackend):
    """The token store keeps 36 characters (a UUID-sized column): two long tokens that share their first 36
    characters are one token. Tokens that differ early: correct."""

    KEPT = 36

    def lookup_token(self, call, token):
        return super().lookup_token(call, token[: self.KEPT])

    def remember_token(self, call, token, digest, result):
        super().remember_token(call, token[: self.KEPT], digest, result)


@planted("tokens shared between the accounts of one organisation", "scope")
class TokensSharedInsideOrganisation(InvoicingBackend):
    """The token store is keyed by organisation, not by account: another account of the payer's organisation
    sending the payer's token gets the payer's result. An account outside the organisation: correct."""

    def lookup_token(self, call, token):
        return self.tokens.lookup(self.directory.organization_of(call.account).payer, call.operation, token)

    def remember_token(self, call, token, digest, result):
        payer = self.directory.organization_of(call.account).payer
        self.tokens.record(payer, call.operation, token, digest, copy.deepcopy(result))


@planted("a replayed update re-applies itself when the unit changed since", "replay-equivalence")
class ReplayOfEarlierUpdateReverts(InvoicingBackend):
    """A replay of UpdateInvoiceUnit answers the stored result, but when a later update changed the unit it
    writes the replayed update's members again (a 'make it so' retry), undoing the later change. A replay
    right after its own update: correct."""

    def replay(self, call, recorded):
        if call.operation == "UpdateInvoiceUnit":
            try:
                with self.lock:
                    current = self.get_invoice_unit(call.account, {"InvoiceUnitArn": call.params["InvoiceUnitArn"]})
            except ResourceNotFoundException:
                current = None
            members = ("Description", "TaxInheritanceDisabled", "Rule")
            if current and any(m in call.params and call.params[m] != current.get(m) for m in members):
                self.execute(call)
        return super().replay(call, recorded)


# ------------------------------------------------------------------------------------- updates, history, lists


@planted("an update that leaves Description out clears it", "state-matches-reads")
class UpdateClearsOmittedDescription(InvoicingBackend):
    """UpdateInvoiceUnit replaces Description when the request leaves it out (a full replacement where the
    operation updates only the members given): the unit's description becomes empty. Given: correct."""

    def update_invoice_unit(self, account, params):
        if "Description" not in params:
            params = {**params, "Description": ""}
        return super().update_invoice_unit(account, params)


@planted("Put keeps an omitted ProcurementPortalInstanceEndpoint", "state-matches-reads")
class PutKeepsOmittedEndpoint(InvoicingBackend):
    """PutProcurementPortalPreference merges instead of replacing: an omitted ProcurementPortalInstanceEndpoint
    keeps its old value where Put clears what it does not carry. Put with the member: correct."""

    def put_procurement_portal_preference(self, account, params):
        old = self.stored_preference(account, params["ProcurementPortalPreferenceArn"]).config
        if "ProcurementPortalInstanceEndpoint" not in params and "ProcurementPortalInstanceEndpoint" in old:
            params = {**params, "ProcurementPortalInstanceEndpoint": old["ProcurementPortalInstanceEndpoint"]}
        return super().put_procurement_portal_preference(account, params)


@planted("a read of the past (AsOf) finds nothing once the unit is deleted", "state-matches-reads")
class AsOfAfterDeleteNotFound(InvoicingBackend):
    """GetInvoiceUnit with an AsOf before the unit's deletion answers ResourceNotFoundException once it is
    deleted (its history went with it), where the model documents "You can see legacy invoice units that are
    currently deleted if the AsOf time is set to before it was deleted". Live units: correct."""

    def get_invoice_unit(self, account, params):
        history = self.invoice_unit_histories(account).get(params["InvoiceUnitArn"])
        if "AsOf" in params and history is not None and history.current is None:
            raise ResourceNotFoundException(f"Invoice unit {params['InvoiceUnitArn']} does not exist")
        return super().get_invoice_unit(account, params)


@planted("the last of several LinkedAccounts is not stored", "state-matches-reads")
class LastLinkedAccountDropped(InvoicingBackend):
    """CreateInvoiceUnit stores Rule.LinkedAccounts without its last entry when it names two or more (a loop
    that stops one early). One linked account: correct."""

    def create_invoice_unit(self, account, params):
        linked = (params.get("Rule") or {}).get("LinkedAccounts") or []
        if len(linked) > 1:
            params = {**params, "Rule": {**params["Rule"], "LinkedAccounts": linked[:-1]}}
        return super().create_invoice_unit(account, params)


@planted("UntagResource with several keys keeps the last one", "state-matches-reads")
class UntagKeepsLastKey(InvoicingBackend):
    """UntagResource removes every key but the last when given two or more (an off-by-one loop): the last tag
    is still listed. One key: correct."""

    def untag_resource(self, account, params):
        keys = params["ResourceTagKeys"]
        return super().untag_resource(account, {**params, "ResourceTagKeys": keys[:-1] if len(keys) > 1 else keys})


@planted("BatchGetInvoiceProfile leaves out the last of several accounts", "valid-requests")
class BatchProfileDropsLast(InvoicingBackend):
    """BatchGetInvoiceProfile answers a profile for every distinct account asked but the last, when asked for
    two or more. One account: correct."""

    def batch_get_invoice_profile(self, account, params):
        result = super().batch_get_invoice_profile(account, params)
        if len(result["Profiles"]) > 1:
            result["Profiles"] = result["Profiles"][:-1]
        return result


@planted("the tag quota refuses exactly the maximum (200 tags)", "valid-requests")
class TagQuotaOffByOne(InvoicingBackend):
    """TagResource refuses a change that leaves a resource with exactly the maximum number of tags (the model's
    ResourceTagList max, 200) with ServiceQuotaExceededException: `>=` where `>` was meant. Fewer: correct."""

    def tag_resource(self, account, params):
        have = self.list_tags_for_resource(account, {"ResourceArn": params["ResourceArn"]})["ResourceTags"]
        keys = {tag["Key"] for tag in have} | {tag["Key"] for tag in params["ResourceTags"]}
        if len(keys) >= self.limits.tags_per_resource:
            raise ServiceQuotaExceededException(f"A resource has fewer than {self.limits.tags_per_resource} tags")
        return super().tag_resource(account, params)


@planted("a member account reads another member's invoice summaries", "valid-requests")
class MemberSeesOtherMembersInvoices(InvoicingBackend):
    """ListInvoiceSummaries lets any account of an organisation read the invoices of any other (visibility by
    organisation, where a member account sees only its own): answered instead of ResourceNotFoundException.
    The payer, or an account outside the organisation: correct."""

    def list_invoice_summaries(self, account, params):
        org = self.directory.organization_of(account)
        selector = params["Selector"]
        if account != org.payer and selector["ResourceType"] == "ACCOUNT_ID" and selector["Value"] in org:
            return super().list_invoice_summaries(org.payer, params)
        return super().list_invoice_summaries(account, params)
