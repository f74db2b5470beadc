"""The write-ahead ledger and the run identity."""

from __future__ import annotations

import json
import os

import pytest

from contracts.guard import ledger as ledger_mod
from contracts import validate_request
from contracts.guard.ledger import Ledger, LedgerError, RunIdentity

RUN = "20260526T101500Z-ab12cd34"


def new_ledger(tmp_path, run_id: str = RUN) -> Ledger:
    return Ledger.create(tmp_path, RunIdentity(run_id), account="123456789012", region="us-east-1", target="aws")


def test_identity_names_and_tags_are_model_valid():
    identity = RunIdentity(RUN)
    name = identity.unit_name("x" * 60)
    assert name.startswith("ict-ab12cd34-") and len(name) == 50
    params = {"Name": name, "InvoiceReceiver": "111111111111", "Rule": {}, "ResourceTags": identity.tags("t-1")}
    assert validate_request("CreateInvoiceUnit", params) == []
    assert identity.owns({ledger_mod.TAG_RUN: RUN}) and not identity.owns({ledger_mod.TAG_RUN: "other"})
    new = RunIdentity.new(now=0)
    assert new.run_id.startswith("19700101T000000Z-") and new.name_prefix == f"ict-{new.short}-"


@pytest.mark.parametrize("run_id, prefix, message", [
    ("2026-05-26", "ict", "not of the form"),
    (RUN, "has space", "1-12 letters or digits"),
    (RUN, "", "1-12 letters or digits"),
])
def test_identity_refuses_bad_values(run_id, prefix, message):
    with pytest.raises(ValueError, match=message):
        RunIdentity(run_id, prefix)


def test_round_trip(tmp_path):
    ledger = new_ledger(tmp_path)
    a = ledger.intend("CreateInvoiceUnit", "tok-a", resource_type="InvoiceUnit", name="ict-ab12cd34-a")
    b = ledger.intend("CreateProcurementPortalPreference", "tok-b", resource_type="ProcurementPortalPreference")
    c = ledger.intend("CreateInvoiceUnit", "tok-c", resource_type="InvoiceUnit", name="ict-ab12cd34-c")
    d = ledger.intend("CreateInvoiceUnit", "tok-d", resource_type="InvoiceUnit", name="ict-ab12cd34-d")
    ledger.created(a, "arn:a")
    ledger.created(b, "arn:b")
    ledger.refused(c, "ValidationException")
    ledger.deleted("arn:b", by="run")
    ledger.close()
    state = ledger_mod.read(ledger.path)
    assert (state.run_id, state.account, state.region, state.target) == (RUN, "123456789012", "us-east-1", "aws")
    assert [e.arn for e in state.live()] == ["arn:a"]
    assert [e.token for e in state.pending()] == ["tok-d"]
    assert state.entries[c].outcome == "refused" and not state.clean
    assert state.created_arns() == {"arn:a", "arn:b"}
    assert oct(os.stat(ledger.path).st_mode & 0o777) == "0o600"


def test_every_record_is_fsynced_before_the_call_returns(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    ledger = new_ledger(tmp_path)
    before = len(synced)
    seq = ledger.intend("CreateInvoiceUnit", "tok", resource_type="InvoiceUnit")
    assert len(synced) == before + 1
    # Visible to another reader at once (not sitting in a userspace buffer).
    assert ledger_mod.read(ledger.path).entries[seq].outcome == "pending"
    ledger.created(seq, "arn:x")
    assert len(synced) == before + 2


def test_a_torn_last_line_is_ignored_and_cut_before_appending(tmp_path):
    ledger = new_ledger(tmp_path)
    seq = ledger.intend("CreateInvoiceUnit", "tok", resource_type="InvoiceUnit")
    ledger.close()
    with open(ledger.path, "ab") as handle:
        handle.write(b'{"kind": "created", "seq": 1, "ar')  # killed mid-write
    state = ledger_mod.read(ledger.path)
    assert state.torn_tail and state.entries[seq].outcome == "pending"
    again = Ledger.reopen(ledger.path)
    again.deleted("arn:y", by="sweep")
    again.close()
    state = ledger_mod.read(ledger.path)
    assert not state.torn_tail and state.deleted == {"arn:y"}


def test_a_damaged_line_in_the_middle_is_an_error(tmp_path):
    ledger = new_ledger(tmp_path)
    ledger.intend("CreateInvoiceUnit", "tok", resource_type="InvoiceUnit")
    ledger.close()
    lines = ledger.path.read_text().splitlines()
    ledger.path.write_text("\n".join([lines[0], "garbage", lines[1]]) + "\n")
    with pytest.raises(LedgerError, match=r":2 is not a JSON object"):
        ledger_mod.read(ledger.path)


@pytest.mark.parametrize("content", [b"", b'{"kind": "run", "v": 1, "run_id": "2026'])
def test_a_run_killed_before_its_header_has_an_empty_ledger(tmp_path, content):
    path = tmp_path / f"{RUN}.jsonl"
    path.write_bytes(content)
    with pytest.raises(ledger_mod.EmptyLedger, match="created nothing"):
        ledger_mod.read(path)


def test_other_files_are_not_ledgers(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"kind": "intent", "seq": 1}) + "\n")
    with pytest.raises(LedgerError, match="first record must be the run header"):
        ledger_mod.read(path)
    other = tmp_path / "y.jsonl"
    other.write_text(json.dumps({"kind": "run", "v": 99}) + "\n")
    with pytest.raises(LedgerError, match="ledger version 99"):
        ledger_mod.read(other)


def test_a_run_id_is_used_once(tmp_path):
    new_ledger(tmp_path).close()
    with pytest.raises(LedgerError, match="already exists"):
        new_ledger(tmp_path)


def test_only_strings_of_known_fields_are_written(tmp_path):
    ledger = new_ledger(tmp_path)
    with pytest.raises(TypeError, match="token must be a string"):
        ledger.intend("CreateInvoiceUnit", {"ProcurementPortalSharedSecret": "x"}, resource_type="InvoiceUnit")
    assert "ProcurementPortalSharedSecret" not in ledger.path.read_text()


def test_ledgers_in_lists_runs_oldest_first(tmp_path):
    for run in ("20260527T000000Z-00000002", "20260526T000000Z-00000001"):
        new_ledger(tmp_path, run).close()
    (tmp_path / "notes.jsonl").write_text("")
    assert [p.stem for p in ledger_mod.ledgers_in(tmp_path)] == ["20260526T000000Z-00000001",
                                                                   "20260527T000000Z-00000002"]
    assert list(ledger_mod.ledgers_in(tmp_path / "missing")) == []
