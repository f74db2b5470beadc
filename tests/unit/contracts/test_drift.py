"""The model drift gate: semantic diff classifications, the changelog, the gate, sources and the CLI.

Fixtures are derived here from the snapshot (the current model) by one planted change each, so every test names
the exact change it expects and nothing else can hide in a committed file.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import zipfile
from pathlib import Path

import botocore
import pytest

import contracts.cli as cli
from strategies import compiled
from contracts.drift import gate as drift
from contracts.exit_codes import UsageError
from contracts.drift.gate import check_drift, diff_models
from contracts.drift.sources import (SNAPSHOT_BOTOCORE_VERSION, SNAPSHOT_PATH, Unreachable, fetch_botocore_model,
                                     load_model, read_model_file)

MODELS = Path(__file__).parents[2] / "fixtures" / "models"
BEFORE, AFTER = MODELS / "invoicing-botocore-1.43.13.json.gz", MODELS / "invoicing-botocore-1.43.14.json.gz"
# The six operations that gained ClientToken on 2026-05-22 (botocore 1.43.14).
MAY_2026 = (
    "CreateInvoiceUnit", "UpdateInvoiceUnit", "DeleteInvoiceUnit", "PutProcurementPortalPreference",
    "UpdateProcurementPortalPreferenceStatus", "DeleteProcurementPortalPreference",
)


@pytest.fixture(scope="module")
def snapshot() -> dict:
    return read_model_file(SNAPSHOT_PATH)


@pytest.fixture
def model(snapshot) -> dict:
    """A private copy of the current model to plant one change in."""
    return copy.deepcopy(snapshot)


def kinds(result, **where) -> list[tuple]:
    """(operation, section, path, kind, severity) of the changes matching `where`."""
    return [(c.operation, c.section, c.path, c.kind, c.severity) for c in result.changes
            if all(getattr(c, key) == value for key, value in where.items())]


def drop_client_token(model: dict, operations=MAY_2026) -> dict:
    for name in operations:
        del model["shapes"][model["operations"][name]["input"]["shape"]]["members"]["ClientToken"]
    return model


# ---------------------------------------------------------------------------------------------------------------
# Classifications on planted changes


def test_identical_models_have_no_changes(snapshot, model):
    result = diff_models(snapshot, model, docs=True)
    assert result.changes == []
    assert result.exit_code() == 0


def test_client_token_removed_from_the_six_operations_is_breaking(snapshot, model):
    result = diff_models(snapshot, drop_client_token(model))
    assert kinds(result) == [(op, "request", "ClientToken", "member-removed", "breaking")
                             for op in result.new_model.operation_names if op in MAY_2026]
    assert all("idempotency token" in c.reason for c in result.changes)
    assert result.exit_code() == 1


def test_client_token_added_is_a_warning_for_the_contract_not_breaking(snapshot, model):
    result = diff_models(drop_client_token(model), snapshot)
    assert sorted(kinds(result)) == sorted((op, "request", "ClientToken", "member-added", "warning") for op in MAY_2026)
    change = result.changes[0]
    assert "non-breaking for callers" in change.reason and "contract" in change.reason
    assert change.syntax == "'string'"
    assert result.exit_code() == 0
    assert result.exit_code("warning") == 1


def test_enum_value_inserted_mid_list_is_dangerous_and_appended_is_not(snapshot, model):
    model["shapes"]["ProcurementPortalPreferenceStatus"]["enum"].insert(1, "PAUSED")
    model["shapes"]["ReceiverRole"]["enum"].append("AGENT")
    result = diff_models(snapshot, model)
    inserted = kinds(result, operation="UpdateProcurementPortalPreferenceStatus")
    assert inserted == [
        ("UpdateProcurementPortalPreferenceStatus", "request", "EinvoiceDeliveryPreferenceStatus",
         "enum-values-inserted", "dangerous"),
        ("UpdateProcurementPortalPreferenceStatus", "request", "PurchaseOrderRetrievalPreferenceStatus",
         "enum-values-inserted", "dangerous"),
    ]
    assert {c.new[0] for c in result.changes if c.kind == "enum-values-inserted"} == {"PAUSED"}
    appended = {(c.section, c.severity) for c in result.changes if c.kind == "enum-values-added"}
    assert appended and all(c.new == ["AGENT"] for c in result.changes if c.kind == "enum-values-added")
    # appended: a note where callers send it, a warning where they read it
    assert appended <= {("request", "note"), ("response", "warning")}
    assert ("response", "warning") in appended
    assert not result.breaking


def test_enum_value_removed_breaks_requests(snapshot, model):
    model["shapes"]["ProcurementPortalPreferenceStatus"]["enum"].remove("SUSPENDED")
    result = diff_models(snapshot, model)
    severities = {(c.section, c.severity) for c in result.changes}
    assert severities == {("request", "breaking"), ("response", "dangerous")}
    assert {tuple(c.old) for c in result.changes} == {("SUSPENDED",)}


def test_member_retargeted_lists_the_differences_at_its_path(snapshot, model):
    model["shapes"]["CreateInvoiceUnitRequest"]["members"]["Name"]["shape"] = "BasicString"
    result = diff_models(snapshot, model)
    assert kinds(result) == [
        ("CreateInvoiceUnit", "request", "Name", "member-retargeted", "warning"),
        ("CreateInvoiceUnit", "request", "Name", "constraint-changed", "note"),  # min 1 -> 0
        ("CreateInvoiceUnit", "request", "Name", "constraint-changed", "note"),  # max 50 -> 1024
        ("CreateInvoiceUnit", "request", "Name", "constraint-changed", "note"),  # pattern: proven widening
    ]
    retarget = result.changes[0]
    assert (retarget.old, retarget.new) == ("InvoiceUnitName", "BasicString")
    decision = result.changes[3].pattern
    assert (decision.relation, decision.exact, decision.refused_now) == ("widened", True, None)
    # the witness, checked here independently: outside InvoiceUnitName (1..50), inside BasicString (0..1024)
    witness = decision.accepted_now
    assert not (1 <= len(witness) <= 50 and compiled(snapshot["shapes"]["InvoiceUnitName"]["pattern"]).fullmatch(witness))
    assert len(witness) <= 1024 and compiled(snapshot["shapes"]["BasicString"]["pattern"]).fullmatch(witness)


def test_member_retargeted_to_an_equivalent_shape_is_a_note(snapshot, model):
    model["shapes"]["InvoiceUnitNameV2"] = copy.deepcopy(model["shapes"]["InvoiceUnitName"])
    model["shapes"]["CreateInvoiceUnitRequest"]["members"]["Name"]["shape"] = "InvoiceUnitNameV2"
    result = diff_models(snapshot, model)
    assert kinds(result) == [("CreateInvoiceUnit", "request", "Name", "member-retargeted", "note")]
    assert "equivalent" in result.changes[0].reason


def test_required_added_to_a_request_member_is_breaking(snapshot, model):
    model["shapes"]["CreateInvoiceUnitRequest"]["required"].append("Description")
    result = diff_models(snapshot, model)
    assert kinds(result) == [("CreateInvoiceUnit", "request", "Description", "required-added", "breaking")]


def test_required_removed_from_a_response_member_is_dangerous(snapshot, model):
    model["shapes"]["ResourceTag"]["required"].remove("Value")
    result = diff_models(snapshot, model)
    assert ("ListTagsForResource", "response", "ResourceTags[*].Value", "required-removed", "dangerous") \
        in kinds(result)
    assert ("CreateInvoiceUnit", "request", "ResourceTags[*].Value", "required-removed", "note") in kinds(result)


def test_operation_removed_is_breaking_and_added_is_a_note(snapshot, model):
    del model["operations"]["ListTagsForResource"]
    result = diff_models(snapshot, model)
    assert kinds(result) == [("ListTagsForResource", "operation", "", "operation-removed", "breaking")]
    assert result.removed_operations == ["ListTagsForResource"]
    reverse = diff_models(model, snapshot)
    assert kinds(reverse) == [("ListTagsForResource", "operation", "", "operation-added", "note")]
    assert reverse.new_operations == ["ListTagsForResource"]


def test_error_removed_is_a_warning_and_conflict_on_a_token_operation_is_dangerous(snapshot, model):
    def drop(operation, error):
        model["operations"][operation]["errors"].remove({"shape": error})

    drop("GetInvoiceUnit", "ThrottlingException")
    drop("PutProcurementPortalPreference", "ConflictException")
    result = diff_models(snapshot, model)
    assert kinds(result) == [
        ("GetInvoiceUnit", "errors", "ThrottlingException", "error-removed", "warning"),
        ("PutProcurementPortalPreference", "errors", "ConflictException", "error-removed", "dangerous"),
    ]
    assert "ValidationException" in result.changes[1].reason  # the contract's fallback is named


def test_error_added_is_a_warning(snapshot, model):
    model["operations"]["CreateInvoiceUnit"]["errors"].append({"shape": "ConflictException"})
    result = diff_models(snapshot, model)
    assert kinds(result) == [("CreateInvoiceUnit", "errors", "ConflictException", "error-added", "warning")]
    assert "ConflictException" in result.changes[0].reason


def test_sensitive_removed_is_dangerous(snapshot, model):
    del model["shapes"]["Contact"]["sensitive"]
    result = diff_models(snapshot, model)
    found = kinds(result, operation="CreateProcurementPortalPreference")
    assert found == [("CreateProcurementPortalPreference", "request", "Contacts[*]", "trait-removed", "dangerous")]
    assert all(c.old == "sensitive" for c in result.changes)
    assert {c.severity for c in diff_models(model, snapshot).changes} == {"note"}  # added back: a note


def test_idempotency_traits_removed_are_breaking(snapshot, model):
    del model["operations"]["CreateInvoiceUnit"]["idempotent"]
    del model["shapes"]["DeleteInvoiceUnitRequest"]["members"]["ClientToken"]["idempotencyToken"]
    result = diff_models(snapshot, model)
    assert kinds(result) == [
        ("CreateInvoiceUnit", "operation", "", "trait-removed", "breaking"),
        ("DeleteInvoiceUnit", "request", "ClientToken", "trait-removed", "breaking"),
    ]
    assert [c.old for c in result.changes] == ["idempotent", "idempotencyToken"]


def test_readonly_removed_is_breaking(snapshot, model):
    del model["operations"]["GetInvoiceUnit"]["readonly"]
    result = diff_models(snapshot, model)
    assert kinds(result) == [("GetInvoiceUnit", "operation", "", "trait-removed", "breaking")]


@pytest.mark.parametrize("bound, value, severity", [
    ("max", 20, "breaking"),  # tighter: names valid before are refused
    ("max", 80, "note"),
    ("min", 3, "breaking"),
])
def test_length_constraints_on_requests(snapshot, model, bound, value, severity):
    model["shapes"]["InvoiceUnitName"][bound] = value
    result = diff_models(snapshot, model)
    request = kinds(result, section="request")
    assert request and {k[3:] for k in request} == {("constraint-changed", severity)}
    response = {c.severity for c in result.changes if c.section == "response"}
    assert response == {"note" if severity == "breaking" else "warning"}


def test_type_change_is_breaking(snapshot, model):
    model["shapes"]["TaxInheritanceDisabledFlag"] = {"type": "string"}
    result = diff_models(snapshot, model)
    assert {(c.kind, c.severity) for c in result.changes} == {("type-changed", "breaking")}


def test_new_map_member_shows_its_request_syntax(snapshot, model):
    model["shapes"]["Labels"] = {"type": "map", "key": {"shape": "BasicString"}, "value": {"shape": "ReceiverRole"}}
    model["shapes"]["CreateInvoiceUnitRequest"]["members"]["Labels"] = {"shape": "Labels"}
    result = diff_models(snapshot, model)
    assert kinds(result) == [("CreateInvoiceUnit", "request", "Labels", "member-added", "note")]
    assert result.changes[0].syntax == "{'string': 'SELLER'|'RESELLER'|'BUYER'}"
    assert "{'Labels': {'string': 'SELLER'|'RESELLER'|'BUYER'}}" in result.markdown(date="2026-01-01")


def test_documentation_only_change_shows_only_with_docs(snapshot, model):
    model["shapes"]["CreateInvoiceUnitRequest"]["members"]["Description"]["documentation"] = "<p>Changed.</p>"
    model["operations"]["GetInvoiceUnit"]["documentation"] = "<p>Changed too.</p>"
    assert diff_models(snapshot, model).changes == []
    result = diff_models(snapshot, model, docs=True)
    assert kinds(result) == [
        ("CreateInvoiceUnit", "request", "Description", "documentation-changed", "note"),
        ("GetInvoiceUnit", "operation", "", "documentation-changed", "note"),
    ]
    assert result.updated_operations == ["CreateInvoiceUnit", "GetInvoiceUnit"]


# ---------------------------------------------------------------------------------------------------------------
# The real May 2026 change


def test_botocore_1_43_13_to_1_43_14_is_exactly_the_six_client_tokens():
    result = diff_models(BEFORE, AFTER)
    assert sorted(result.updated_operations) == sorted(MAY_2026)
    assert result.new_operations == result.removed_operations == []
    for operation in MAY_2026:
        assert sorted(kinds(result, operation=operation)) == [
            (operation, "operation", "", "trait-added", "note"),  # now marked idempotent
            (operation, "request", "ClientToken", "member-added", "warning"),
        ]
    assert result.exit_code() == 0
    text = result.markdown(date="2026-05-22")
    assert text.startswith("# 2026-05-22 - AWS Invoicing - 6 updated api methods\n")
    assert text.count("{'ClientToken': 'string'}") == 6
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        f"## {name} (updated)" for name in result.updated_operations]


def test_botocore_1_43_13_to_1_43_14_documentation_is_the_only_other_change():
    result = diff_models(BEFORE, AFTER, docs=True)
    others = {c.operation for c in result.changes if c.operation not in MAY_2026}
    assert others == {"ListInvoiceSummaries"}
    assert {c.kind for c in result.changes if c.operation == "ListInvoiceSummaries"} == {"documentation-changed"}


# ---------------------------------------------------------------------------------------------------------------
# The gate used by `run`


def test_gate_fails_for_a_token_operation_without_a_contract_entry(snapshot, model):
    model["operations"]["CreateWidget"] = dict(copy.deepcopy(model["operations"]["CreateInvoiceUnit"]),
                                               name="CreateWidget")
    result = check_drift(model)
    assert kinds(result) == [("CreateWidget", "operation", "", "operation-added", "warning")]
    failures = result.gate_failures(result.token_operations().keys() - {"CreateWidget"})
    assert [f.operation for f in failures] == ["CreateWidget"]
    assert "no contract entry" in str(failures[0]) and "ClientToken" in str(failures[0])
    assert result.gate_failures(result.token_operations()) == []


def test_gate_fails_for_a_contract_operation_that_lost_its_token(model):
    result = check_drift(drop_client_token(model, ["CreateInvoiceUnit"]))
    failures = [str(f) for f in result.gate_failures()]
    assert any(f.startswith("CreateInvoiceUnit: has a contract entry but no idempotency token") for f in failures)
    assert any(f.startswith("CreateInvoiceUnit: breaking change at request ClientToken") for f in failures)


def test_gate_fails_for_a_contract_operation_that_is_gone(model):
    del model["operations"]["SendProcurementPortalValidation"]
    failures = [f.reason for f in check_drift(model).gate_failures()]
    assert any("has no such operation" in f for f in failures)


def test_check_drift_compares_the_installed_model_with_the_snapshot():
    result = check_drift()
    assert result.old.label == f"snapshot of botocore {SNAPSHOT_BOTOCORE_VERSION}"
    assert result.new.label == f"installed botocore {botocore.__version__}"
    if botocore.__version__ == SNAPSHOT_BOTOCORE_VERSION:
        assert result.changes == [] and result.gate_failures() == []


def test_json_form_round_trips(snapshot, model):
    model["shapes"]["ProcurementPortalPreferenceStatus"]["enum"].insert(0, "DRAFT")
    document = json.loads(json.dumps(diff_models(snapshot, model).to_json()))
    assert document["service"] == "AWS Invoicing"
    assert document["counts"]["dangerous"] == len(document["changes"]) > 0
    assert document["changes"][0]["new"] == ["DRAFT"]


# ---------------------------------------------------------------------------------------------------------------
# Sources


def botocore_tree(root: Path, model: dict, version: str = "9.9.9") -> Path:
    package = root / "botocore"
    data = package / "data" / "invoicing" / "2024-12-01"
    data.mkdir(parents=True)
    (package / "__init__.py").write_text(f"__version__ = '{version}'\n")
    (data / "service-2.json.gz").write_bytes(gzip.compress(json.dumps(model).encode()))
    return package


@pytest.mark.parametrize("where", ["", "botocore", "botocore/data", "botocore/data/invoicing",
                                   "botocore/data/invoicing/2024-12-01"])
def test_botocore_directories_are_searched(tmp_path, snapshot, where):
    botocore_tree(tmp_path, snapshot)
    loaded = load_model(tmp_path / where)
    assert loaded.raw == snapshot
    assert loaded.label.startswith("botocore 9.9.9 (")


def test_a_plain_json_file_is_read(tmp_path, snapshot):
    path = tmp_path / "service-2.json"
    path.write_text(json.dumps(snapshot))
    assert load_model(path).raw == snapshot


@pytest.mark.parametrize("content, message", [
    (b"not json", "cannot read a JSON service model"),
    (b'{"shapes": {}}', "not a botocore service model"),
])
def test_files_that_are_not_models_are_usage_errors(tmp_path, content, message):
    path = tmp_path / "model.json"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=message):
        load_model(path)


def test_a_directory_without_a_model_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no invoicing service-2.json"):
        load_model(tmp_path)


class FakePip:
    """Stands in for subprocess.run of `pip download`: writes a wheel holding `model`, or fails like pip."""

    def __init__(self, model=None, stderr=""):
        self.model, self.stderr, self.calls = model, stderr, 0

    def __call__(self, command, **kwargs):
        self.calls += 1
        if self.model is None:
            return type("Done", (), {"returncode": 1, "stdout": "", "stderr": self.stderr})()
        dest = Path(command[command.index("--dest") + 1])
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as wheel:
            wheel.writestr("botocore/data/invoicing/2024-12-01/service-2.json.gz",
                           gzip.compress(json.dumps(self.model).encode()))
            wheel.writestr("botocore/__init__.py", "__version__ = '1.2.3'\n")
        (dest / "botocore-1.2.3-py3-none-any.whl").write_bytes(buffer.getvalue())
        return type("Done", (), {"returncode": 0, "stdout": "", "stderr": ""})()


def test_botocore_release_is_fetched_once_into_the_cache(tmp_path, monkeypatch, snapshot):
    monkeypatch.setenv("INVOICING_CONTRACTS_CACHE", str(tmp_path))
    pip = FakePip(snapshot)
    path = fetch_botocore_model("1.2.3", run=pip)
    assert path == tmp_path / "botocore-1.2.3" / "invoicing-service-2.json.gz"
    assert read_model_file(path) == snapshot
    assert fetch_botocore_model("1.2.3", run=pip) == path and pip.calls == 1
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no download left behind


def test_an_unreachable_index_is_reported_as_unreachable(tmp_path, monkeypatch):
    monkeypatch.setenv("INVOICING_CONTRACTS_CACHE", str(tmp_path))
    offline = FakePip(stderr="WARNING: Retrying ... NewConnectionError: Failed to establish a new connection\n"
                             "ERROR: No matching distribution found for botocore==1.2.3\n")
    with pytest.raises(Unreachable, match="unreachable"):
        fetch_botocore_model("1.2.3", run=offline)
    with pytest.raises(UsageError, match="No matching distribution"):
        fetch_botocore_model("1.2.3", run=FakePip(stderr="ERROR: No matching distribution found for botocore==1.2.3"))
    with pytest.raises(UsageError, match="X.Y.Z"):
        fetch_botocore_model("latest", run=offline)


# ---------------------------------------------------------------------------------------------------------------
# CLI


@pytest.fixture
def run_cli(monkeypatch, capsys):
    # Only the diff subcommand: its exit codes must not depend on the other subcommands' imports.
    monkeypatch.setattr(cli, "COMMANDS", {"diff": cli.COMMANDS["diff"]})

    def run(*argv):
        code = cli.main(["diff", *map(str, argv)])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_cli_exit_0_and_changelog_for_the_may_2026_change(run_cli):
    code, out, err = run_cli(BEFORE, AFTER, "--date", "2026-05-22")
    assert (code, err) == (0, "")
    assert out.startswith("# 2026-05-22 - AWS Invoicing - 6 updated api methods")


def test_cli_exit_1_on_a_breaking_change_and_json(run_cli, tmp_path, model):
    del model["operations"]["ListTagsForResource"]
    path = tmp_path / "service-2.json"
    path.write_text(json.dumps(model))
    code, out, _ = run_cli("snapshot", path, "--format", "json")
    assert code == 1
    assert json.loads(out)["removed_operations"] == ["ListTagsForResource"]


def test_cli_fail_on_and_gate(run_cli):
    assert run_cli(BEFORE, AFTER, "--fail-on", "warning")[0] == 1
    # 1.43.14 lacks two operations that have contract entries: the gate fails
    code, out, _ = run_cli(BEFORE, AFTER, "--gate")
    assert code == 1 and "**Gate: failed** (2)" in out
    code, out, _ = run_cli("snapshot", "snapshot", "--gate")
    assert code == 0 and "**Gate: passed**" in out


def test_cli_bad_path_is_one_line_exit_2(run_cli):
    code, out, err = run_cli("no/such/model.json", AFTER)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("invoicing-contracts diff: no/such/model.json: no such file")


def test_cli_unreachable_index_exits_3(run_cli, monkeypatch):
    def offline(version, service="invoicing", **_):
        raise Unreachable(f"cannot fetch botocore=={version}: the package index is unreachable")

    monkeypatch.setattr("contracts.drift.sources.fetch_botocore_model", offline)
    code, out, err = run_cli("botocore==1.43.13", AFTER)
    assert (code, out) == (3, "") and err.count("\n") == 1


def test_diff_module_is_a_subcommand():
    assert drift.CHECK_MODEL is False and callable(drift.add_arguments) and callable(drift.main)
