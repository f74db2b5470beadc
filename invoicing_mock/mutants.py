"""The catalogue of planted faults: emulator variants that each get one thing wrong, the way a real service or a
mock gets it wrong, to measure what the contract suite catches (`invoicing-contracts mutants`).

Each variant is a small subclass of the correct emulator (`invoicing_mock.models.InvoicingBackend`) overriding
one of its public hooks (`validate`, `execute`, `lookup_token`, `replay`, `answer_conflict`, `claim_token`,
`remember_token`, `new_id`, `page_position`, `handle`; documented in `invoicing_mock.models.base`) or one operation
method, and reading state only through public methods. Use one as a backend:

    invoicing-contracts run --mock-backend invoicing_mock.mutants:TokenIgnored
    pytest --pyargs contracts.suite --mock-backend invoicing_mock.mutants:PutKeepsVersion

`CATALOGUE` maps each variant's name to a `Variant`: the class, the fault in the words of the issue that asked
for it, and the property of the suite expected to catch it (`contracts.checks.PROPERTIES`; what actually caught
it is what `mutants` reports). The two exactly-once variants of `invoicing_mock.planted` are part
of the catalogue, and so are the faults that fire only on rare paths (`invoicing_mock.rare_paths`); a variant's
`spec` names the module that defines it. `FreshArnOnReplayRecordingSecrets` is not a fault of its own: it is an
instrument for the secrets test (it records what it was sent), and stays out of the catalogue.
"""

from __future__ import annotations

import copy
import json
import os

from invoicing_mock.exceptions import (
    ConflictException,
    InternalServerException,
    ResourceNotFoundException,
    ThrottlingException,
    ValidationException,
)
from invoicing_mock.catalogue import CATALOGUE, Variant, add, planted  # noqa: F401 - the catalogue's home
from invoicing_mock.models import InvoicingBackend
from invoicing_mock.planted import RacyTokenCheck, RetryExecutesTwice
from strategies import sensitive_members


def _is_create(operation: str) -> bool:
    return operation.startswith("Create")


def _is_delete(operation: str) -> bool:
    return operation.startswith("Delete")


# ------------------------------------------------------------------------------------------- idempotency tokens


@planted("token ignored: every request executes as new", "replay-equivalence")
class TokenIgnored(InvoicingBackend):
    """The token is accepted and thrown away (a mock that never implemented idempotency): a replayed create
    makes a second resource or is refused as a duplicate, a replayed update applies twice."""

    def lookup_token(self, call, token):
        return None

    def remember_token(self, call, token, digest, result):
        return None


@planted("replay returns a fresh identifier", "replay-equivalence")
class FreshArnOnReplay(InvoicingBackend):
    """A replay answers the stored result, but with a freshly made resource id in its ARN: no second effect,
    yet the caller is told about a resource that does not exist."""

    def replay(self, call, recorded):
        result = super().replay(call, recorded)
        for name, value in result.items():
            if isinstance(value, str) and value.startswith("arn:") and "/" in value:
                head, old = value.rsplit("/", 1)
                result[name] = f"{head}/{self.new_id(len(old))}"
        return result


@planted("replay runs the request again instead of returning the stored result", "replay-equivalence")
class ReplayExecutesAgain(InvoicingBackend):
    """A replay executes the operation again and answers its new result (the suite's first planted fault,
    formerly tests/unit/contracts/planted_faults.py:FreshArnOnReplay): a replayed create is refused as a
    duplicate name or portal, a replayed update applies twice."""

    def replay(self, call, recorded):
        return self.execute(call)


@planted("replay returns the original identifier, but other fields changed", "replay-equivalence")
class ReplayReappliesChange(InvoicingBackend):
    """A replay answers the stored result (the same ARN), but re-applies the change underneath: Version goes up
    again, LastModified moves, a pending validation code is replaced. The answer looks right; the resource does
    not."""

    def replay(self, call, recorded):
        if not _is_create(call.operation) and not _is_delete(call.operation):
            try:
                self.execute(call)
            except Exception:  # noqa: BLE001 - the stored answer is returned whatever the re-run did
                pass
        return super().replay(call, recorded)


@planted("conflicting payload accepted", "conflict-rejection")
class ConflictAccepted(InvoicingBackend):
    """A reused token answers the stored result whatever the payload: a conflicting request is accepted (and
    silently ignored) instead of refused."""

    def answer_conflict(self, call, member, token, recorded):
        return self.replay(call, recorded)


@planted("conflicting payload executed: the last request with a token wins", "conflict-rejection")
class ConflictOverwrites(InvoicingBackend):
    """A reused token with another payload is treated as a new request: it executes and its result replaces the
    stored one (a token store keyed by token and payload hash, or one that simply overwrites)."""

    def answer_conflict(self, call, member, token, recorded):
        result = self.execute(call)
        with self.token_lock:
            self.remember_token(call, token, self.fingerprint_of(call), result)
        return result


@planted("conflict refused with an undeclared error", "declared-errors")
class UndeclaredConflictError(InvoicingBackend):
    """Every token conflict is answered with ConflictException, also by operations that do not declare it
    (CreateInvoiceUnit, UpdateInvoiceUnit, DeleteInvoiceUnit, Send/VerifyProcurementPortalValidation)."""

    def answer_conflict(self, call, member, token, recorded):
        raise ConflictException(f"{member} was already used with a different request", resource_type=member)


@planted("conflict refused with a declared error, but not the operation's conflict error", "conflict-rejection")
class ConflictAnsweredWithValidation(InvoicingBackend):
    """Every token conflict is answered with ValidationException, also by the operations that declare
    ConflictException (the procurement-portal preference ones): declared, but not the contract's answer."""

    def answer_conflict(self, call, member, token, recorded):
        raise ValidationException(f"{member} was already used with a different request", reason="invalidInput",
                                  field_list=[{"name": member, "message": "already used"}])


@planted("delete replay answers ResourceNotFound", "delete-replay")
class DeleteReplayNotFound(InvoicingBackend):
    """A replayed delete runs again instead of answering the stored success, so the retry of a delete that
    worked is told the resource does not exist."""

    def replay(self, call, recorded):
        if _is_delete(call.operation):
            return self.execute(call)
        return super().replay(call, recorded)


@planted("a new delete of a deleted resource succeeds", "delete-replay")
class DeleteAgainSucceeds(InvoicingBackend):
    """Deletes are 'idempotent' by resource rather than by token: deleting what is already gone answers success,
    so a caller cannot tell its own delete from someone else's."""

    def execute(self, call):
        try:
            return super().execute(call)
        except ResourceNotFoundException:
            if not _is_delete(call.operation):
                raise
            member = next(name for name in call.params if name.endswith("Arn"))
            return {member: call.params[member]}


@planted("a replayed create after the delete resurrects the resource", "delete-replay")
class ReplayAfterDeleteResurrects(InvoicingBackend):
    """A create replayed after its resource was deleted creates it again (with the same id where it can):
    the token outlives the resource and brings it back."""

    _forced_id: str | None = None

    def replay(self, call, recorded):
        if not _is_create(call.operation):
            return super().replay(call, recorded)
        arn = next((v for v in recorded.result.values() if isinstance(v, str) and v.startswith("arn:")), "")
        read = "GetInvoiceUnit" if "invoice-unit/" in arn else "GetProcurementPortalPreference"
        member = "InvoiceUnitArn" if read == "GetInvoiceUnit" else "ProcurementPortalPreferenceArn"
        try:
            with self.lock:
                self.operations[read](call.account, {member: arn})
            return super().replay(call, recorded)
        except ResourceNotFoundException:
            self._forced_id = arn.rsplit("/", 1)[1]
            return self.execute(call)

    def new_id(self, length=8):
        forced, self._forced_id = self._forced_id, None
        return forced if forced and len(forced) == length else super().new_id(length)


@planted("a validation failure consumes the token", "failure-does-not-poison")
class ValidationConsumesToken(InvoicingBackend):
    """The token is stored before the request is validated: a request refused as invalid still uses its token,
    so the corrected request sent with the same token is refused as a token conflict."""

    def validate(self, call):
        try:
            super().validate(call)
        except ValidationException:
            token = self.token_of(call)
            if isinstance(token, str):
                with self.token_lock:
                    self.remember_token(call, token, self.fingerprint_of(call), {})
            raise


@planted("a throttled request consumes the token", "failure-does-not-poison")
class ThrottledRequestConsumesToken(InvoicingBackend):
    """The rate limiter sits after the token store: a throttled request has used its token, and the caller's
    retry with the same token gets an empty 'stored result' and no effect."""

    def handle(self, call):
        try:
            return super().handle(call)
        except ThrottlingException:
            token = self.token_of(call)
            if isinstance(token, str):
                with self.token_lock:
                    self.remember_token(call, token, self.fingerprint_of(call), {})
            raise


@planted("tokens shared across operations", "scope")
class TokensSharedAcrossOperations(InvoicingBackend):
    """The token store is keyed by account and token only: a token one operation used answers for every other
    operation (a different payload there is refused as a conflict, an equal one gets the other's result)."""

    def lookup_token(self, call, token):
        return self.tokens.lookup(call.account, "*", token)

    def remember_token(self, call, token, digest, result):
        self.tokens.record(call.account, "*", token, digest, copy.deepcopy(result))


@planted("tokens shared across accounts", "scope")
class TokensSharedAcrossAccounts(InvoicingBackend):
    """The token store is global, not per account: another account sending the same token and payload gets the
    first account's result (and learns its ARN)."""

    def lookup_token(self, call, token):
        return self.tokens.lookup("*", call.operation, token)

    def remember_token(self, call, token, digest, result):
        self.tokens.record("*", call.operation, token, digest, copy.deepcopy(result))


@planted("tokens deduplicated by payload instead of by token", "independence")
class PayloadDedupInsteadOfToken(InvoicingBackend):
    """Requests are deduplicated by their payload, whatever the token: the same payload with a new token (or two
    calls without a token) answers the first result instead of being a request of its own."""

    def lookup_token(self, call, token):
        return super().lookup_token(call, self.fingerprint_of(call))

    def remember_token(self, call, token, digest, result):
        super().remember_token(call, digest, digest, result)


@planted("token window far shorter than documented (5 minutes, not 24 hours)", "expiry")
class ShortTokenWindow(InvoicingBackend):
    """Advertises the documented 24-hour window (`tokens.window_seconds`) but forgets a token after 5 minutes:
    a retry an hour later runs the request again."""

    REAL_WINDOW = 300.0

    def lookup_token(self, call, token):
        recorded = super().lookup_token(call, token)
        if recorded is not None and self.clock.now() - recorded.recorded_at > self.REAL_WINDOW:
            return None
        return recorded


# ------------------------------------------------------------------------------------------- request validation


class _Lenient(InvoicingBackend):
    """A server-side validator that skips some of the model's constraints (botocore skips them too)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        strict = self.validator
        self.validator = lambda operation, params: [p for p in strict(operation, params) if not self.skips(p)]

    def skips(self, problem) -> bool:
        raise NotImplementedError


@planted("name longer than 50 accepted", "invalid-requests")
class NameTooLongAccepted(_Lenient):
    """The server does not check the maximum length of `Name` (the model's max=50): a long invoice-unit name is
    stored, the SDK having skipped the check as well."""

    def skips(self, problem):
        return problem.path == "Name" and problem.constraint == "max"


@planted("pattern violation accepted", "invalid-requests")
class PatternViolationAccepted(_Lenient):
    """The server checks no `pattern` of the model (botocore does not either): malformed ARNs, account IDs and
    names are accepted."""

    def skips(self, problem):
        return problem.constraint == "pattern"


@planted("value outside an enum accepted", "invalid-requests")
class EnumViolationAccepted(_Lenient):
    """The server accepts any string where the model has an enum (botocore does not check enums)."""

    def skips(self, problem):
        return problem.constraint == "enum"


@planted("a missing required member is answered with a 500", "invalid-requests")
class MissingMemberServerError(InvoicingBackend):
    """The server trusts the SDK to send required members: one missing is a null dereference, a 500
    InternalServerException instead of ValidationException."""

    def validate(self, call):
        if any(problem.constraint == "required" for problem in self.validator(call.operation, call.params)):
            raise InternalServerException("java.lang.NullPointerException")
        super().validate(call)


# ------------------------------------------------------------------------------------------------- responses


@planted("response missing a required member", "output-schema")
class ResponseMissingRequiredMember(InvoicingBackend):
    """GetProcurementPortalPreference leaves out `Version`, which the output shape requires."""

    def get_procurement_portal_preference(self, account, params):
        result = super().get_procurement_portal_preference(account, params)
        result["ProcurementPortalPreference"].pop("Version", None)
        return result


@planted("malformed ARN in a response", "output-schema")
class MalformedArnInResponse(InvoicingBackend):
    """GetInvoiceUnit answers the unit's ARN without its partition (`arn::invoicing::...`), which the model's
    ARN pattern refuses."""

    def get_invoice_unit(self, account, params):
        result = super().get_invoice_unit(account, params)
        result["InvoiceUnitArn"] = result["InvoiceUnitArn"].replace("arn:aws:", "arn::", 1)
        return result


@planted("a 500 on a valid request", "valid-requests")
class ServerErrorOnValidRequest(InvoicingBackend):
    """UntagResource with a key the resource does not have fails with a 500 (a KeyError the service never
    handled), although the request is valid and removing nothing is a success."""

    def untag_resource(self, account, params):
        listed = self.list_tags_for_resource(account, {"ResourceArn": params["ResourceArn"]})["ResourceTags"]
        if any(key not in {tag["Key"] for tag in listed} for key in params["ResourceTagKeys"]):
            raise InternalServerException("KeyError")
        return super().untag_resource(account, params)


# ------------------------------------------------------------------------------------------------ reads, lists


@planted("pagination skips an item", "state-matches-reads")
class PaginationSkipsItem(InvoicingBackend):
    """Every page after the first starts one item late (an off-by-one in the cursor): whoever pages through a
    list never sees the first item of each later page."""

    def page_position(self, operation, account, params):
        position = super().page_position(operation, account, params)
        return position + 1 if isinstance(position, int) else position


@planted("pagination repeats an item", "state-matches-reads")
class PaginationRepeatsItem(InvoicingBackend):
    """Every page after the first starts one item early: the last item of a page is listed again at the top of
    the next one."""

    def page_position(self, operation, account, params):
        position = super().page_position(operation, account, params)
        return max(position - 1, 0) if isinstance(position, int) else position


@planted("AsOf ignores history", "valid-requests")
class AsOfIgnoresHistory(InvoicingBackend):
    """GetInvoiceUnit and ListInvoiceUnits ignore `AsOf` and answer the current state: a unit created after the
    requested time is shown, a deleted one is not, an updated one shows its newest version."""

    def get_invoice_unit(self, account, params):
        return super().get_invoice_unit(account, {k: v for k, v in params.items() if k != "AsOf"})

    def list_invoice_units(self, account, params):
        return super().list_invoice_units(account, {k: v for k, v in params.items() if k != "AsOf"})


@planted("list filters OR where they should AND", "valid-requests")
class FiltersOrInsteadOfAnd(InvoicingBackend):
    """ListInvoiceUnits combines different filter types with OR (a unit matching any filter is listed) where
    the service documents AND. With one filter type it is right."""

    def list_invoice_units(self, account, params):
        filters = {k: v for k, v in (params.get("Filters") or {}).items() if v}
        if len(filters) < 2:
            return super().list_invoice_units(account, params)
        seen, units = set(), []
        for name, values in filters.items():
            single = {k: v for k, v in params.items() if k not in ("Filters", "NextToken", "MaxResults")}
            single["Filters"] = {name: values}
            for unit in super().list_invoice_units(account, single)["InvoiceUnits"]:
                if unit["InvoiceUnitArn"] not in seen:
                    seen.add(unit["InvoiceUnitArn"])
                    units.append(unit)
        return {"InvoiceUnits": units}


@planted("List lags behind writes: a unit created in the last second is not listed", "state-matches-reads")
class ListLagsBehindWrites(InvoicingBackend):
    """ListInvoiceUnits reads an eventually consistent replica: units created less than a second ago are
    missing from it."""

    def list_invoice_units(self, account, params):
        result = super().list_invoice_units(account, params)
        now = self.clock.now()
        histories = self.invoice_unit_histories(account)
        fresh = {arn for arn, history in histories.items() if now - history.times[0] < 1.0}
        result["InvoiceUnits"] = [u for u in result["InvoiceUnits"] if u["InvoiceUnitArn"] not in fresh]
        return result


@planted("a read right after an update shows the previous version", "state-matches-reads")
class ReadAfterUpdateIsStale(InvoicingBackend):
    """GetInvoiceUnit reads a replica one version behind for a second after a change: a caller reading its own
    update back sees the old unit."""

    def get_invoice_unit(self, account, params):
        result = super().get_invoice_unit(account, params)
        history = self.invoice_unit_histories(account).get(params["InvoiceUnitArn"])
        if "AsOf" not in params and history and len(history.versions) > 1 and \
                self.clock.now() - history.times[-1] < 1.0 and history.versions[-2] is not None:
            return dict(history.versions[-2])
        return result


@planted("Version not incremented on Put", "state-matches-reads")
class PutKeepsVersion(InvoicingBackend):
    """PutProcurementPortalPreference replaces the configuration but leaves Version as it was, so a reader
    comparing versions cannot see the change (and a retry that ran twice cannot be counted)."""

    def put_procurement_portal_preference(self, account, params):
        preference = self.stored_preference(account, params["ProcurementPortalPreferenceArn"])
        version = preference.version
        result = super().put_procurement_portal_preference(account, params)
        preference.version = version
        return result


# -------------------------------------------------------------------------- exactly-once variants

add(RetryExecutesTwice, "a retried request executed twice (the token is stored after the response is sent)",
    "lost-response")
add(RacyTokenCheck, "non-atomic token check: concurrent duplicates all execute", "concurrent-duplicates")


# ------------------------------------------------------------------------------------------- rare paths

# Faults that fire only on rare paths live in their own module and join the catalogue when it is imported.
from invoicing_mock import rare_paths  # noqa: E402,F401

# ------------------------------------------------------------------------------------------------ instruments


class FreshArnOnReplayRecordingSecrets(ReplayExecutesAgain):
    """Not a catalogue entry: ReplayExecutesAgain that also writes every sensitive value it receives to
    $PLANTED_SECRETS_LOG (outside the run's report and database directories), so the secrets test can prove
    which secrets went over the wire and then look for them in every file the run wrote."""

    def handle(self, call):
        names = sensitive_members()
        found: list[str] = []

        def walk(value, inside):
            if isinstance(value, dict):
                for key, item in value.items():
                    walk(item, inside or key in names)
            elif isinstance(value, list):
                for item in value:
                    walk(item, inside)
            elif inside and isinstance(value, str):
                found.append(value)

        walk(call.params, False)
        path = os.environ.get("PLANTED_SECRETS_LOG")
        if path and found:
            seen = set(json.loads(open(path).read())) if os.path.exists(path) else set()
            with open(path, "w") as out:
                json.dump(sorted(seen | set(found)), out)
        return super().handle(call)
