"""The contract packs of other services (contracts/packs/*.pack.json): they load against the installed model,
and loading refuses data that disagrees with it, every problem named."""

from __future__ import annotations

import copy
import json

import pytest

from contracts import cli
from contracts.exit_codes import ExitCode
from contracts.packs import pack as packs
from contracts.packs.script import Script


def data(service: str) -> dict:
    return json.loads(packs.pack_files()[service].read_text())


@pytest.mark.parametrize("service, operation, token", [("efs", "CreateFileSystem", "CreationToken"),
                                                       ("secretsmanager", "CreateSecret", "ClientRequestToken")])
def test_the_packs_load_with_their_token_operation_and_bases(service, operation, token):
    pack = packs.load(service)
    assert pack.operations[operation].token == token
    assert pack.operations[operation].token_by == "model"  # both carry the idempotencyToken trait
    expectations = pack.expectations()
    assert {e["property"] for e in expectations} == {"replay-equivalence", "conflict-rejection"}
    documented = [e for e in expectations if e["basis"] == "documented"]
    assert documented and all(e["quote"] and e["source"] for e in documented)


def test_packs_lists_invoicing_first_then_every_pack():
    assert packs.names()[0] == "invoicing"
    assert {"efs", "secretsmanager"} <= set(packs.names())


def _problems(service: str, change) -> str:
    raw = copy.deepcopy(data(service))
    change(raw)
    with pytest.raises(packs.PackDataError) as error:
        packs.parse(raw, f"{service}.pack.json")
    return str(error.value)


def test_a_quote_the_documentation_no_longer_says_fails_loudly():
    def edit(raw):
        raw["operations"]["CreateFileSystem"]["replay"]["source"]["quote"] = "this operation returns the file system"

    message = _problems("efs", edit)
    assert "operations.CreateFileSystem.replay.source.quote" in message
    assert "does not say 'this operation returns the file system'" in message


def test_an_error_the_operation_does_not_declare_is_refused():
    def edit(raw):
        raw["operations"]["CreateSecret"]["conflict"]["codes"] = ["ConflictException"]

    assert "CreateSecret does not declare 'ConflictException'" in _problems("secretsmanager", edit)


def test_a_token_member_without_the_trait_must_be_named_a_convention():
    def edit(raw):
        raw["operations"]["CreateFileSystem"]["token"] = "PerformanceMode"

    assert "does not carry the idempotencyToken trait" in _problems("efs", edit)


def test_a_token_operation_neither_judged_nor_excused_fails():
    def edit(raw):
        del raw["not_covered"]["RotateSecret"]

    assert "operations.RotateSecret: missing" in _problems("secretsmanager", edit)


def test_every_problem_is_listed_at_once():
    def edit(raw):
        entry = raw["operations"]["CreateFileSystem"]
        entry["reads"][0]["count"] = "NextMarker"
        entry["draw"].append("Colour")

    message = _problems("efs", edit)
    assert "2 problems" in message and "NextMarker" in message and "'Colour'" in message


def test_the_packs_command_lists_each_pack_with_its_operations(capsys):
    assert cli.main(["packs"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert out.index("invoicing") < out.index("efs") < out.index("secretsmanager")
    assert "token-bearing: CreateFileSystem" in out and "not covered: CreateAccessPoint" in out


@pytest.mark.parametrize("args, message", [
    (["--target", "moto"], "--target moto runs another service's pack"),
    (["--service", "efs", "--target", "mock"], "the efs pack runs against --target moto or --target endpoint"),
    (["--service", "nosuchservice", "--target", "moto"], "nosuchservice"),
    (["--service", "efs", "--target", "endpoint"], "--endpoint-url"),
])
def test_bad_pack_options_are_usage_errors(capsys, args, message):
    assert cli.main(["run", *args, "--report-dir", "unused"]) == ExitCode.USAGE
    assert message in capsys.readouterr().err


def test_a_reproduction_masks_sensitive_members_alike():
    script = Script("secretsmanager", "moto", moto_version="5.2.6")
    from contracts.model.redaction import REDACTOR
    from strategies import sensitive_members

    REDACTOR.also_sensitive(sensitive_members("secretsmanager"))
    secret = "a-secret-value-nobody-may-read"
    script.call("first", "CreateSecret", {"Name": "n", "SecretString": secret})
    script.call("second", "CreateSecret", {"Name": "n", "SecretString": secret})
    text = script.render()
    assert secret not in text
    first, second = [line for line in text.splitlines() if "create_secret" in line]
    assert first.split("=", 1)[1] == second.split("=", 1)[1]  # equal secrets, equal placeholders: still a replay
    compile(text, "repro.py", "exec")


def test_a_token_named_by_convention_is_taken_when_the_member_exists():
    """ACM's RequestCertificate carries IdempotencyToken without the trait: a pack names it a convention."""
    raw = copy.deepcopy(data("efs"))
    entry = raw["operations"]["CreateFileSystem"]
    entry["token_by"] = "convention"
    assert packs.parse(raw).operations["CreateFileSystem"].token_by == "convention"
    entry["token"] = "IdempotencyToken"
    with pytest.raises(packs.PackDataError, match="CreateFileSystem takes no 'IdempotencyToken'"):
        packs.parse(raw)
