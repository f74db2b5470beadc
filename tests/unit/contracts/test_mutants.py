"""The planted-fault catalogue (invoicing_mock/mutants.py) and `invoicing-contracts mutants` (contracts/mutants.py).

What runs where:
- every CI run (this file, default): the catalogue's structure (at least 20 variants, each a small documented
  subclass of the emulator, the issue's required faults all present, each variant a working emulator outside
  its one fault), the command's input handling and verdict logic, and two real runs sized for two cores:
  ONE variant of the catalogue, rotating by date, must be killed under the ci profile (about 5-40 s) and the
  reproduction of its reported violation must exit 1 against it and 0 against the correct emulator (the
  representative subset of reproductions: one variant a day, plus the five of test_runner.py each run), and ONE
  run of the correct emulator with a date-derived seed must hold (about 40 s). Set
  INVOICING_MUTANTS_SAMPLE=Name[,Name] to choose the variants instead.
- the whole catalogue (53 variants, each kill's reproduction checked) and 20 seeds of the correct emulator (about
  30 + 15 minutes on two cores) run only with INVOICING_MUTANTS_FULL=1:

      INVOICING_MUTANTS_FULL=1 pytest tests/unit/contracts/test_mutants.py -k full -s

  The variants in KNOWN_GAPS survive because the suite has no property that could see them (each entry says
  which is missing); the full test expects exactly those to survive, so closing a gap without removing its
  entry fails the test as well. RARE_PATH_GAPS are faults on rare paths (invoicing_mock/rare_paths.py) the
  suite missed on at least one measured seed (benchmarks/README.md): a random search may or may not reach their
  path, so the full test lets them survive or be killed, and says which were killed.
"""

from __future__ import annotations

import argparse
import datetime
import inspect
import json
import os
from pathlib import Path

import boto3
import pytest

from contracts.cli import mutants
from contracts.exit_codes import UsageError
from invoicing_mock import Organization, mock_invoicing
from invoicing_mock.models import InvoicingBackend
from invoicing_mock.mutants import CATALOGUE, Variant

FULL = os.environ.get("INVOICING_MUTANTS_FULL") == "1"

# Variants the suite cannot kill today, and the property it lacks (see the mutants section of benchmarks/README.md).
KNOWN_GAPS: dict[str, str] = {}  # closed by tests/contract/test_reads.py
# Rare-path faults the suite missed on a measured seed, and what the suite would need to reach them (all 20 of
# invoicing_mock/rare_paths.py killed on seeds 101 and 102 since the reference model and the state dimensions).
RARE_PATH_GAPS: dict[str, str] = {}
# Kills whose reproduction cannot show the fault: the violation needs state the example's trace does not hold.
# (Measured `mutants --repeat 5 --check-reproductions`, ci: every variant 1/0 on every seed; the last five gaps
# closed below, in test_a_kill_that_needs_earlier_state_reproduces_it.)
REPRODUCTION_GAPS: dict[str, str] = {}
# Kills whose reproduction needs state made before the failing call, and the test that kills each (-k): the
# clock the suite moved, the create and update an AsOf reads between (and its time relative to theirs), masked
# sensitive members, the writes an earlier edge made to the shared fixture.
NEEDS_EARLIER_STATE = {
    "ShortTokenWindow": "test_expiry",
    "AsOfIgnoresHistory": "test_as_of_reads_the_past",
    "AsOfAfterDeleteNotFound": "test_as_of_reads_the_past",
    "BatchProfileDropsLast": "test_batch_profile_answers_every_account",
    "PutKeepsOmittedEndpoint": "test_coverage_edges and PutProcurementPortalPreference",
}

# Faults of the kinds real services and mocks have, in words -> the variant that plants it.
REQUIRED = {
    "token ignored": "TokenIgnored",
    "replay returns a fresh identifier": "FreshArnOnReplay",
    "replay returns the original identifier but other fields changed": "ReplayReappliesChange",
    "conflicting payload accepted": "ConflictAccepted",
    "conflict refused with an undeclared error": "UndeclaredConflictError",
    "delete replay answers ResourceNotFound": "DeleteReplayNotFound",
    "a validation failure consumes the token": "ValidationConsumesToken",
    "tokens shared across operations": "TokensSharedAcrossOperations",
    "tokens shared across accounts": "TokensSharedAcrossAccounts",
    "window far shorter than documented": "ShortTokenWindow",
    "name longer than 50 accepted": "NameTooLongAccepted",
    "pattern violation accepted": "PatternViolationAccepted",
    "value outside an enum accepted": "EnumViolationAccepted",
    "response missing a required member": "ResponseMissingRequiredMember",
    "malformed ARN in a response": "MalformedArnInResponse",
    "a 500 on a valid request": "ServerErrorOnValidRequest",
    "pagination repeats or skips an item": "PaginationSkipsItem",
    "AsOf ignores history": "AsOfIgnoresHistory",
    "list filters OR where they should AND": "FiltersOrInsteadOfAnd",
    "Version not incremented on Put": "PutKeepsVersion",
    "a retried request executed twice": "RetryExecutesTwice",
    "non-atomic token check": "RacyTokenCheck",
}


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    mutants.add_arguments(parser)
    return parser.parse_args(list(argv))


def today() -> int:
    return datetime.date.today().toordinal()


# -------------------------------------------------------------------------------------------------- structure


def test_the_catalogue_has_at_least_20_named_variants_and_every_required_fault():
    assert len(CATALOGUE) >= 20
    missing = {fault: name for fault, name in REQUIRED.items() if name not in CATALOGUE}
    assert not missing, f"required faults without a variant: {missing}"
    assert set(KNOWN_GAPS) | set(RARE_PATH_GAPS) | set(REPRODUCTION_GAPS) <= set(CATALOGUE)


@pytest.mark.parametrize("variant", CATALOGUE.values(), ids=list(CATALOGUE))
def test_each_variant_is_a_small_documented_emulator_subclass(variant: Variant):
    from contracts.checks import PROPERTIES
    import contracts.checks.faults  # noqa: F401 - registers properties 7, 8 and 10

    cls = variant.cls
    assert issubclass(cls, InvoicingBackend) and cls is not InvoicingBackend
    assert cls.__name__ == variant.name and (cls.__doc__ or "").strip(), "a variant says what it gets wrong"
    assert variant.fault and variant.expected in PROPERTIES, variant.expected
    # Small: the methods it (and its helper bases) define on top of the emulator.
    own = {name for klass in cls.__mro__[: cls.__mro__.index(InvoicingBackend)] for name, value in vars(klass).items()
           if inspect.isfunction(value) and name != "__init__"}
    assert 1 <= len(own) <= 3, f"{variant.name} overrides {sorted(own)}: one fault per variant"
    for name in own:
        lines = len(inspect.getsource(getattr(cls, name)).splitlines())
        assert lines <= 25, f"{variant.name}.{name} is {lines} lines: keep a planted fault small"
    assert mutants_spec_resolves(variant.spec) is cls


def mutants_spec_resolves(spec: str):
    from contracts.engine.targets import resolve_factory

    return resolve_factory(spec)


@pytest.mark.parametrize("variant", CATALOGUE.values(), ids=list(CATALOGUE))
def test_each_variant_still_serves_the_basic_calls(variant: Variant, monkeypatch):
    """Outside its one fault a variant is a working emulator: a kill must come from the planted fault, not from
    a variant that crashes on everything."""
    for name, value in (("AWS_ACCESS_KEY_ID", "123456789012"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    backend = variant.cls(organizations=[Organization.of("123456789012", ("123456789012", "111111111111"))])
    with mock_invoicing(backend=backend):
        client = boto3.client("invoicing", region_name="us-east-1")
        arn = client.create_invoice_unit(Name="smoke", InvoiceReceiver="123456789012", Rule={},
                                         ClientToken="smoke-1")["InvoiceUnitArn"]
        client.get_invoice_unit(InvoiceUnitArn=arn)
        client.update_invoice_unit(InvoiceUnitArn=arn, Description="changed", ClientToken="smoke-2")
        client.list_invoice_units()
        client.tag_resource(ResourceArn=arn, ResourceTags=[{"Key": "k", "Value": "v"}])
        client.untag_resource(ResourceArn=arn, ResourceTagKeys=["k"])
        preference = client.create_procurement_portal_preference(
            ProcurementPortalName="COUPA", BuyerDomain="NetworkID", BuyerIdentifier="smoke-buyer",
            SupplierDomain="NetworkID", SupplierIdentifier="smoke-supplier", EinvoiceDeliveryEnabled=False,
            PurchaseOrderRetrievalEnabled=False, Contacts=[{"Name": "s", "Email": "s@example.com"}],
            ClientToken="smoke-3")["ProcurementPortalPreferenceArn"]
        client.put_procurement_portal_preference(
            ProcurementPortalPreferenceArn=preference, EinvoiceDeliveryEnabled=False,
            PurchaseOrderRetrievalEnabled=False, Contacts=[{"Name": "t", "Email": "t@example.com"}],
            ClientToken="smoke-4")
        client.get_procurement_portal_preference(ProcurementPortalPreferenceArn=preference)
        client.delete_procurement_portal_preference(ProcurementPortalPreferenceArn=preference, ClientToken="smoke-5")
        client.delete_invoice_unit(InvoiceUnitArn=arn, ClientToken="smoke-6")


def test_the_suites_planted_faults_have_their_equivalents_here():
    """tests/unit/contracts/planted_faults.py's variants, so its users can point at invoicing_mock.mutants."""
    from invoicing_mock import mutants as catalogue

    for name in ("FreshArnOnReplay", "ConflictAccepted", "UndeclaredConflictError"):
        assert name in CATALOGUE
    assert issubclass(catalogue.FreshArnOnReplayRecordingSecrets, catalogue.ReplayExecutesAgain)
    assert "FreshArnOnReplayRecordingSecrets" not in CATALOGUE  # an instrument, not a fault


# ------------------------------------------------------------------------------------------- the command's input


@pytest.mark.parametrize("argv, message", [
    (["--variants", "NoSuchFault"], "unknown variant NoSuchFault; the catalogue has: TokenIgnored"),
    (["--variants", "TokenIgnored,Nope,Nada"], "unknown variants Nope, Nada"),
    (["--profile", "fast"], "unknown profile 'fast'"),
    (["--repeat", "0"], "--repeat must be 1 or more"),
    (["--jobs", "0"], "--jobs must be 1 or more"),
    (["--false-alarms", "0"], "--false-alarms must be 1 or more runs"),
    (["--false-alarms", "2", "--variants", "TokenIgnored"], "leave out --variants"),
])
def test_bad_input_is_a_usage_error_that_says_what_to_change(argv, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace("'", ".")):
        mutants.main(parse(*argv))


def test_list_prints_the_catalogue(capsys):
    assert mutants.main(parse("--list")) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in CATALOGUE) and "[replay-equivalence]" in out


def test_variants_take_names_space_or_comma_separated():
    chosen = mutants.chosen_variants(["TokenIgnored,PutKeepsVersion", "RacyTokenCheck", "TokenIgnored"])
    assert [v.name for v in chosen] == ["TokenIgnored", "PutKeepsVersion", "RacyTokenCheck"]
    assert len(mutants.chosen_variants(None)) == len(CATALOGUE)


# -------------------------------------------------------------------------------------------- verdict logic


def _outcome(tmp_path: Path, exit_code, probe=None, failures=(), errors=()) -> mutants.Run:
    run = mutants.Run("V", "m:V", 7, str(tmp_path))
    run.exit_code = exit_code
    if probe is not None:
        (tmp_path / "probe.json").write_text(json.dumps(probe))
    results = {"operations": {"CreateInvoiceUnit": {"properties": {"scope": {
        "failures": [dict(f) for f in failures], "errors": list(errors)}}}}}
    (tmp_path / "results.json").write_text(json.dumps(results))
    mutants._read_outcome(run, tmp_path / "probe.json", tmp_path / "results.json")
    return run


FAILURE = {"property": "scope", "check": "token_scoped_to_account", "operation": "CreateInvoiceUnit",
           "title": "t", "test": "tests/contract/test_idempotency.py::x"}
PROBE = {"first_violation_at": 1.5, "first_violation": {k: FAILURE[k] for k in ("property", "check",
                                                                                    "operation", "title")}}


@pytest.mark.parametrize("exit_code, probe, failures, errors, verdict, reported", [
    (0, {}, (), (), "survived", "violation"),
    (1, PROBE, (FAILURE,), (), "killed", "violation"),
    (1, PROBE, (), ("FlakyStrategyDefinition: ...",), "error", "suite error"),  # raised, not reported: no kill
    (1, {}, (), ("TypeError: ...",), "error", "violation"),
    (2, {}, (), (), "error", "violation"),
    (None, {}, (), (), "timeout", "violation"),
])
def test_a_runs_verdict_comes_from_its_exit_code_probe_and_results(tmp_path, exit_code, probe, failures, errors,
                                                                   verdict, reported):
    run = _outcome(tmp_path, exit_code, probe, failures, errors)
    assert (run.verdict, run.reported) == (verdict, reported)
    if verdict == "killed":
        assert run.first_failure == 1.5 and run.caught_by["check"] == "token_scoped_to_account"


def test_a_variant_is_killed_only_when_every_run_kills_it(tmp_path):
    killed = mutants.Run("V", "m:V", 1, str(tmp_path), verdict="killed", first_failure=2.0)
    also = mutants.Run("V", "m:V", 2, str(tmp_path), verdict="killed", first_failure=4.0)
    survived = mutants.Run("V", "m:V", 3, str(tmp_path), verdict="survived")
    assert mutants.Score("V", "f", "scope", [killed, also]).verdict == "killed"
    assert mutants.Score("V", "f", "scope", [killed, also]).median_first_failure == 3.0
    assert mutants.Score("V", "f", "scope", [killed, survived]).verdict == "SURVIVED"


HONEST = ("import sys\n"
          "from invoicing_mock.mutants import TokenIgnored as backend_factory  # the emulator variant the run used\n"
          "sys.exit(0 if backend_factory.__name__ == 'InvoicingBackend' else 1)\n")


@pytest.mark.parametrize("script, expected", [
    (HONEST, "1/0"),  # the fault is there against the variant, gone against the emulator
    ("import sys\nsys.exit(1)\n", "1/1"),  # fails against the emulator too: not evidence of the fault
    ("import sys\nsys.exit(0)\n", "0/0"),  # does not reproduce at all
])
def test_check_reproductions_runs_the_reported_script_against_the_variant_and_the_emulator(tmp_path, script,
                                                                                            expected):
    run = _outcome(tmp_path, 1, PROBE, ({**FAILURE, "reproduction": script},))
    assert run.verdict == "killed"
    mutants.check_reproduction(run)
    assert run.reproduction == expected
    assert (tmp_path / "repro-variant.py").read_text() == script
    assert mutants.Score("V", "f", "scope", [run]).reproductions_behave == (expected == "1/0")
    assert mutants.mutant_table([mutants.Score("V", "f", "scope", [run])], True).splitlines()[-1].endswith(expected)


# ------------------------------------------------------------------------------------------ real runs (CI-sized)


def sample() -> list[str]:
    chosen = os.environ.get("INVOICING_MUTANTS_SAMPLE")
    if chosen:
        return [name.strip() for name in chosen.split(",") if name.strip()]
    # Rare-path variants are measured on two seeds only: a CI run on a date's seed must not hinge on them.
    killable = [name for name, variant in CATALOGUE.items() if name not in KNOWN_GAPS and name not in RARE_PATH_GAPS
                and not variant.spec.startswith("invoicing_mock.rare_paths:")]
    return [killable[today() % len(killable)]]


def test_the_runs_share_hypothesis_caches_but_no_examples(tmp_path, monkeypatch):
    """Hypothesis caches the constants of the project's source in its storage directory; each run in a fresh
    folder of its own rebuilt them inside its time to the first failure. The runs share one directory beside
    their folders, and still no example database."""
    seen = []

    class Child:
        def __init__(self, command, *, env, **_kwargs):
            seen.append((command, env))

        def wait(self, timeout=None):
            return 0

    monkeypatch.setattr(mutants.subprocess, "Popen", Child)
    for seed in (1, 2):
        mutants.execute(mutants.Run("TokenIgnored", CATALOGUE["TokenIgnored"].spec, seed,
                                    str(tmp_path / f"TokenIgnored-{seed}")), "ci", timeout=5)
    assert {env["HYPOTHESIS_STORAGE_DIRECTORY"] for _, env in seen} == {str(tmp_path / ".hypothesis")}
    assert all(command[command.index("--example-db") + 1] == "none" for command, _ in seen)


@pytest.mark.parametrize("name", NEEDS_EARLIER_STATE)
def test_a_kill_that_needs_earlier_state_reproduces_it(name, tmp_path, monkeypatch):
    """The test that kills the variant, alone: its reported violation's reproduction exits 1 against the variant
    and 0 against the correct emulator (each was 0/0 before its state went into the script)."""
    monkeypatch.setenv("PYTEST_ADDOPTS", f"-k '{NEEDS_EARLIER_STATE[name]}'")
    run = mutants.execute(mutants.Run(name, CATALOGUE[name].spec, 1, str(tmp_path)), "ci", timeout=300)
    assert run.verdict == "killed", (run.verdict, run.detail)
    assert mutants.check_reproduction(run).reproduction == "1/0", (tmp_path / "repro-emulator.log").read_text()


def test_a_sampled_variant_is_killed_under_the_ci_profile(tmp_path, capsys):
    """One variant per CI run, rotating by date (the whole catalogue: the full test below)."""
    names = sample()
    code = mutants.main(parse("--variants", *names, "--seed", str(today()), "--report-dir", str(tmp_path),
                              "--check-reproductions"))
    out = capsys.readouterr().out
    print(out)
    summary = json.loads((tmp_path / "mutants.json").read_text())
    assert code == 0 or set(names) & set(REPRODUCTION_GAPS), out
    for entry in summary["variants"]:
        assert entry["verdict"] == "killed" and entry["median_seconds_to_first_failure"] is not None, entry
        assert entry["caught_by"]["property"], entry
        # The reported violation's reproduction exits 1 against the variant, 0 against the correct emulator.
        assert entry["reproductions"] == ["1/0"] or entry["variant"] in REPRODUCTION_GAPS, entry
    assert "mutation score: " in out and f"{len(names)}/{len(names)} killed (100.0%)" in out


def test_the_correct_emulator_raises_no_false_alarm_with_todays_seed(tmp_path, capsys):
    """One seed per CI run, derived from the date (20 seeds in a row: the full test below)."""
    code = mutants.main(parse("--false-alarms", "1", "--seed", str(today()), "--report-dir", str(tmp_path)))
    out = capsys.readouterr().out
    print(out)
    assert code == 0, out
    assert "1/1 runs of the correct emulator passed" in out


# ---------------------------------------------------------------------------------------- the whole catalogue


@pytest.mark.skipif(not FULL, reason="the whole catalogue takes ~30 minutes: set INVOICING_MUTANTS_FULL=1")
def test_full_catalogue_every_variant_but_the_known_gaps_is_killed(tmp_path, capsys):
    """Each kill's reproduction runs against its variant (exit 1) and the correct emulator (exit 0)."""
    code = mutants.main(parse("--seed", "1", "--jobs", "2", "--report-dir", str(tmp_path), "--check-reproductions"))
    out = capsys.readouterr().out
    print(out)
    summary = json.loads((tmp_path / "mutants.json").read_text())
    survivors = {v["variant"] for v in summary["variants"] if v["verdict"] != "killed"}
    misbehaving = {v["variant"]: v["reproductions"] for v in summary["variants"]
                   if v["verdict"] == "killed" and v["reproductions"] != ["1/0"]
                   and v["variant"] not in REPRODUCTION_GAPS}
    assert not misbehaving, f"reproductions not exiting 1 against the variant and 0 against the emulator: {misbehaving}"
    print("rare-path gaps killed on this seed:", sorted(set(RARE_PATH_GAPS) - survivors))
    gaps_misbehaving = any(v["verdict"] == "killed" and v["reproductions"] != ["1/0"] for v in summary["variants"])
    assert code == (0 if not survivors and not gaps_misbehaving else 1)
    survivors -= set(RARE_PATH_GAPS)
    assert survivors == set(KNOWN_GAPS), (
        f"survived but not a known gap: {sorted(survivors - set(KNOWN_GAPS))}; known gaps now killed (remove them "
        f"from KNOWN_GAPS): {sorted(set(KNOWN_GAPS) - survivors)}")


@pytest.mark.skipif(not FULL, reason="20 runs of the ci profile take ~15 minutes: set INVOICING_MUTANTS_FULL=1")
def test_full_the_correct_emulator_passes_20_seeds_in_a_row(tmp_path, capsys):
    code = mutants.main(parse("--false-alarms", "20", "--seed", "1000", "--jobs", "2", "--report-dir",
                              str(tmp_path)))
    out = capsys.readouterr().out
    print(out)
    assert code == 0, out
    assert "20/20 runs of the correct emulator passed" in out
