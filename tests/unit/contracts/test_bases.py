"""contracts/packs/bases.json: every expectation has a basis, checked against the model and the registry on load;
a violation carries it; on a target other than the embedded emulator an assumed one is a divergence."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time

import pytest

import contracts.suite.test_reads  # noqa: F401 - registers the read checks, which have bases too
from contracts import cli, options
from contracts.checks import CHECKS, CheckContext, CheckRegistry, ContractViolation
from contracts.checks.registry import SUITE_VERDICT, basis_of
from contracts.engine.results import Results
from contracts.packs import bases
from contracts.packs.bases import BASES_FILE, BasesDataError, parse
from contracts.packs.contract import load
from invoicing_mock import equivalence


@pytest.fixture
def data() -> dict:
    return json.loads(BASES_FILE.read_text())


def registered() -> frozenset[str]:
    return frozenset(check.name for check in CHECKS) | {SUITE_VERDICT}


def test_every_registered_check_has_a_basis_and_every_entry_a_check(data):
    loaded = parse(data, registered())
    assert set(loaded.checks) == registered()
    assert {basis_of(name) for name in registered()} <= set(bases.BASES)


def test_the_bases_of_the_properties_are_those_of_docs_idempotency():
    assert basis_of("replay_same_response") == "protocol"
    assert basis_of("conflict_refused") == "protocol"
    assert basis_of("conflict_refused", "conflict_error") == "assumed"
    assert basis_of("token_scoped_to_operation") == "assumed"
    assert basis_of("delete_again_not_found") == "assumed"
    assert basis_of("declared_error") == "model"
    assert basis_of("as_of_reads_the_past") == "documented"
    assert basis_of("") == basis_of(SUITE_VERDICT) == "protocol"  # the invariant's own failures


def _set(data: dict, path: tuple, value) -> None:
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value


_DELETE = object()


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("checks", "replay_same_response", "basis"), "obvious", r"checks\.replay_same_response\.basis: 'obvious'"),
        (("checks", "replay_same_response", "basis"), _DELETE, r"checks\.replay_same_response\.basis: missing"),
        (("checks", "replay_same_response", "why"), "", r"checks\.replay_same_response\.why: missing"),
        (("checks", "as_of_reads_the_past", "quote"), _DELETE, r"as_of_reads_the_past: a documented expectation "
                                                               r"needs \"quote\""),
        (("checks", "as_of_reads_the_past", "quote"), "AsOf is accurate to the millisecond.",
         r"as_of_reads_the_past\.quote: the model's documentation of GetInvoiceUnitRequest\.AsOf does not say"),
        (("checks", "as_of_reads_the_past", "source"), "GetInvoiceUnitRequest.When", r"source: .* is no shape"),
        (("checks", "conflict_refused", "expectations", "conflict_error", "basis"), "guessed",
         r"checks\.conflict_refused\.expectations\.conflict_error\.basis"),
        (("conflict_answers", "except", "TeapotException"), "no", r"except\.TeapotException: no operation"),
        (("equivalences", "entries", 0, "value"), True, r"the model gives CreateInvoiceUnit\.TaxInheritanceDisabled "
                                                        r"no default True"),
        (("equivalences", "entries", 0), {"operation": "CreateInvoiceUnit", "member": "Name", "kind": "default",
                                          "value": "", "basis": "model", "why": "x"},
         r"missing CreateInvoiceUnit\.TaxInheritanceDisabled, which the model defaults to false"),
        (("equivalences", "entries", 3, "member"), "Rule", r"is a structure, not a list"),
        (("equivalences", "entries", 3, "basis"), "assumed", r"an equivalence must be stated by the model or the "
                                                             r"documentation"),
        (("sources", "model"), "", r"sources\.model"),
    ],
)
def test_bad_data_is_refused_saying_what_to_fix(data, path, value, message):
    _set(data, path, value)
    with pytest.raises(BasesDataError, match=message):
        parse(data, registered())


def test_unknown_and_missing_check_names_are_refused(data):
    data["checks"]["conflict_refused_typo"] = data["checks"].pop("conflict_refused")
    with pytest.raises(BasesDataError) as error:
        parse(data, registered())
    text = str(error.value)
    assert "checks.conflict_refused: missing; the check 'conflict_refused' is registered" in text
    assert "checks.conflict_refused_typo: no check of that name is registered" in text
    assert "2 problems" in text


def test_a_check_without_a_basis_cannot_be_registered_in_the_suites_registry():
    registry = CheckRegistry(with_bases=True)
    with pytest.raises(BasesDataError, match=r"'brand_new_check' .* has no basis: add checks\.brand_new_check to"):
        registry.register("brand_new_check", property="output-schema")(lambda ctx: None)
    CheckRegistry().register("brand_new_check", property="output-schema")(lambda ctx: None)  # a test's own: free


def test_an_entry_for_a_check_nobody_registered_fails_the_first_run():
    registry = CheckRegistry(with_bases=True)
    registry.register("no_server_error", property="valid-requests")(lambda ctx: None)
    with pytest.raises(BasesDataError, match="not registered: .*declared_error"):
        registry.run("no_server_error", CheckContext("ListInvoiceUnits"))


def test_checks_a_suite_module_registers_are_not_expected_before_it_is_imported(monkeypatch):
    registry = CheckRegistry(with_bases=True)
    for check in CHECKS:
        if check.name not in ("as_of_reads_the_past", "pages_cover_the_list_once", "filters_and_across_types"):
            registry.register(check.name, property=check.property)(check.function)
    with pytest.raises(BasesDataError, match="as_of_reads_the_past"):
        registry.verify_bases()  # contracts.suite.test_reads is imported here: its checks are due
    monkeypatch.delitem(__import__("sys").modules, "contracts.suite.test_reads")
    registry.verify_bases()


def test_a_violation_carries_the_basis_of_the_expectation_it_broke():
    ctx = CheckContext("CreateInvoiceUnit", check="conflict_refused", property_id="conflict-rejection")
    with pytest.raises(ContractViolation) as whole:
        ctx.fail("accepted")
    assert (whole.value.basis, whole.value.expectation) == ("protocol", "")
    with pytest.raises(ContractViolation) as part:
        ctx.fail("refused with another declared error", expectation="conflict_error")
    assert (part.value.basis, part.value.expectation) == ("assumed", "conflict_error")
    with pytest.raises(BasesDataError, match="has no expectation 'which_error'"):
        ctx.fail("x", expectation="which_error")


def test_a_token_conflict_may_be_rejected_with_any_declared_client_error_but_throttling():
    contract = load()
    put = contract.operations["PutProcurementPortalPreference"]
    assert put.conflict_error == "ConflictException"
    assert put.conflict_answers == {"ConflictException", "ValidationException", "ResourceNotFoundException",
                                    "ServiceQuotaExceededException", "AccessDeniedException"}
    for op in contract.operations.values():
        assert op.conflict_error in op.conflict_answers
        assert "ThrottlingException" not in op.conflict_answers  # declared, but says "later", not "refused"
        assert "InternalServerException" not in op.conflict_answers  # a fault, not a rejection


def test_payloads_the_model_and_the_documentation_make_equal_are_one_request():
    contract = load()
    unit = {"Name": "a", "InvoiceReceiver": "123456789012", "Rule": {"LinkedAccounts": ["222222222222",
                                                                                       "111111111111"]}}
    assert contract.equivalent("CreateInvoiceUnit", unit, {**unit, "TaxInheritanceDisabled": False})  # model
    assert not contract.equivalent("CreateInvoiceUnit", unit, {**unit, "TaxInheritanceDisabled": True})
    reordered = {**unit, "Rule": {"LinkedAccounts": ["111111111111", "222222222222"]}}
    assert contract.equivalent("CreateInvoiceUnit", unit, reordered)  # documented: a unit is a set of accounts
    assert contract.equivalent("UpdateInvoiceUnit", unit, reordered)
    billed = {**unit, "Rule": {"BillSourceAccounts": ["2", "1"]}}
    assert not contract.equivalent("CreateInvoiceUnit", billed, {**unit, "Rule": {"BillSourceAccounts": ["1", "2"]}})
    pref = {"ProcurementPortalName": "COUPA"}
    assert contract.equivalent("PutProcurementPortalPreference", pref, {**pref, "MarketplacePunchOutEnabled": False})
    assert not contract.equivalent("PutProcurementPortalPreference", pref, {**pref, "EinvoiceDeliveryEnabled": False})


def test_the_suite_and_the_emulator_share_one_table_of_equivalences():
    suite_side = {(e.operation, e.member, e.kind, json.dumps(e.value)) for e in bases.load().equivalences}
    emulator_side = {(r.operation, r.member, r.kind, json.dumps(r.value)) for r in equivalence.rules()}
    assert suite_side == emulator_side


# ------------------------------------------------------------------------------------------------ results


def _record(text: str, basis: str) -> dict:
    return {"operation": "UpdateInvoiceUnit", "property": "scope", "text": text, "title": text, "basis": basis}


def test_a_cell_with_divergences_and_no_violation_is_diverged_and_says_its_bases():
    results = Results()
    results.record("UpdateInvoiceUnit", "scope", "token_scoped_to_operation", False, unit=1)
    results.add_divergence(_record("tokens shared across operations", "assumed"))
    results.add_divergence(_record("tokens shared across operations", "assumed"))  # the same one once
    cell = results.to_dict()["operations"]["UpdateInvoiceUnit"]["properties"]["scope"]
    assert cell["verdict"] == "diverged" and len(cell["diverged"]) == 1
    assert cell["basis"] == ["assumed"]
    assert cell["checks"] == {"token_scoped_to_operation": {"runs": 1, "basis": "assumed"}}
    assert results.summary()["diverged"] == 1 and results.summary()["violations"] == 0
    results.add_violation(_record("another account got the ARN", "assumed"))
    assert results.to_dict()["operations"]["UpdateInvoiceUnit"]["properties"]["scope"]["verdict"] == "violated"


# ------------------------------------------------------------------------- the run, end to end (in process)


@pytest.fixture
def run(capsys, monkeypatch):
    monkeypatch.setitem(options.PROFILES, "dev", dataclasses.replace(options.PROFILES["dev"], shrink_seconds=3))

    def call(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        started = time.monotonic()
        code = cli.main(["run", *args])
        out, err = capsys.readouterr()
        with capsys.disabled():
            print(f"\n$ invoicing-contracts run {' '.join(args)}\n  exit {code} in {time.monotonic() - started:.1f}s")
        return code, out + err

    return call


SCOPE_RUN = ("--profile", "dev", "--seed", "2", "--operations", "CreateInvoiceUnit,UpdateInvoiceUnit",
             "--faults", "off", "--example-db", "none", "--quiet")


def test_an_assumed_expectation_is_a_divergence_on_a_plausible_variant(tmp_path):
    # Through pytest directly: `run`'s console table does not show the "diverged" verdict yet (docs/bases.md).
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "contracts.suite", "-q", "-p", "no:cacheprovider",
         *[a for a in SCOPE_RUN if a != "--quiet"], "--mock-backend", "invoicing_mock.plausible:TokenPerAccount",
         "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    scope = results["operations"]["UpdateInvoiceUnit"]["properties"]["scope"]
    assert scope["verdict"] == "diverged", scope
    [seen] = scope["diverged"]
    assert seen["basis"] == "assumed" and seen["check"] == "token_scoped_to_operation"
    assert seen["example"], "the divergence keeps its evidence: the calls that show it"
    assert results["summary"]["violations"] == 0 and results["summary"]["divergences"] >= 1
    assert all("basis" in cell for op in results["operations"].values() for cell in op["properties"].values())


# TokenPerAccount comparing payloads byte for byte, as --strict does: so under --strict the only expectation it
# breaks is the assumed token scope (with its default semantic comparison, a reordered account list reused with
# its token would be a conflict it accepts, and the machine would end there first).
STRICT_TARGET = """
from invoicing_mock.behaviour import Behaviour
from invoicing_mock.plausible import TokenPerAccount


class TokenPerAccountBytes(TokenPerAccount):
    BEHAVIOUR = Behaviour.of({**TokenPerAccount.BEHAVIOUR.to_dict(), "payload_comparison": "bytes"})
"""


def test_under_strict_an_assumed_expectation_binds_every_target(tmp_path):
    # A process of its own, as the sibling test above: in this test session Hypothesis would draw from a larger
    # pool of our constants (the test modules are loaded too), so the seeded run would not be the same run.
    (tmp_path / "strict_target.py").write_text(STRICT_TARGET)
    done = subprocess.run(
        [sys.executable, "-m", "contracts.cli", "run", *SCOPE_RUN, "--mock-backend",
         "strict_target:TokenPerAccountBytes", "--strict", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path), "AWS_ACCESS_KEY_ID": "testing",
             "AWS_SECRET_ACCESS_KEY": "testing"})
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    strict = json.loads((tmp_path / "results.json").read_text())
    scope = strict["operations"]["UpdateInvoiceUnit"]["properties"].get("scope")
    assert scope is not None, done.stdout[-6000:]
    assert scope["verdict"] == "violated" and scope["failures"][0]["basis"] == "assumed"


def test_the_same_fault_planted_in_the_embedded_emulator_is_a_violation(tmp_path, run):
    # TokensSharedAcrossOperations does what TokenPerAccount does, silently, with the emulator's own knobs: the
    # embedded emulator is held to its assumed expectations, so the planted fault stays killed.
    code, out = run(*SCOPE_RUN, "--mock-backend", "invoicing_mock.mutants:TokensSharedAcrossOperations",
                    "--report-dir", str(tmp_path))
    assert code == 1, out[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    failure = results["operations"]["UpdateInvoiceUnit"]["properties"]["scope"]["failures"][0]
    assert failure["basis"] == "assumed" and failure["check"] == "token_scoped_to_operation"


def test_strict_compares_payloads_byte_for_byte():
    """Without --strict, a reused token with an equivalent payload (bases.json: equivalences) is a replay; with it,
    a conflict the target must refuse."""
    from types import SimpleNamespace

    from contracts.engine.session import Suite
    from contracts.packs.contract import load

    first = {"Name": "n", "Rule": {"LinkedAccounts": ["111111111111", "222222222222"]}}
    reordered = {"Name": "n", "Rule": {"LinkedAccounts": ["222222222222", "111111111111"]}}
    defaulted = {**first, "TaxInheritanceDisabled": False}
    for strict, same in ((False, True), (True, False)):
        suite = SimpleNamespace(strict=strict, contract=load())
        assert Suite.same_request(suite, "CreateInvoiceUnit", first, reordered) is same
        assert Suite.same_request(suite, "CreateInvoiceUnit", first, defaulted) is same
        assert Suite.same_request(suite, "CreateInvoiceUnit", first, dict(first)) is True
