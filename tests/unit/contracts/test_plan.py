"""`run --target aws --plan` and the account sources (configuration, Organizations ListAccounts)."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from moto import mock_aws

from contracts import guard
from contracts.guard import plan as plan_mod
from strategies import service_model
from _real_account_support import MEMBERS, PAYER, aws_test_environment, emulator, run_options  # noqa: F401

OPERATIONS = service_model("invoicing").operation_names


def plan_output(tmp_path, url, environ=None, calls=None, **changes) -> tuple[int, str]:
    out = io.StringIO()
    with mock_aws():
        code = guard.run_aws(run_options(tmp_path, url=url, plan=True, **changes), lambda real: 99, plan_calls=calls,
                             environ={guard.OPT_IN_ENV: "1"} if environ is None else environ, out=out,
                             err=io.StringIO())
    return code, out.getvalue()


def row(text: str, operation: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(operation + " "))


def test_plan_prints_and_stops_without_sending_anything(tmp_path, emulator):
    url, _backend, log = emulator
    calls = plan_mod.estimate_calls(OPERATIONS, 5, read_only=False, stateful_steps=4)
    code, text = plan_output(tmp_path, url, max_resources=7, calls=calls)
    assert code == 0, "the suite (which returns 99) never ran"
    assert log.operations() == [] and not (tmp_path / "ledgers").exists()
    assert f"account   {PAYER}  (arn:aws:sts::{PAYER}:user/moto)" in text
    assert "region    us-east-1" in text and f"endpoint {url}" in text
    assert "guard     allowed" in text
    assert "at most 7 resources created" in text
    assert f"receivers        {MEMBERS[0]}, {MEMBERS[1]}" in text
    assert f"linked accounts  {MEMBERS[2]}, {MEMBERS[3]}" in text
    assert row(text, "CreateInvoiceUnit").split()[1:3] == ["create", str(2 * 5 + 4 * 4)]
    assert "creates stop at the budget: 7" in row(text, "CreateInvoiceUnit")
    assert row(text, "DeleteInvoiceUnit").split()[1:3] == ["delete", "26"]
    assert row(text, "TagResource").split()[1:3] == ["write", "10"]
    assert row(text, "ListInvoiceUnits").split()[1:3] == ["read", "10"]
    assert len([op for op in OPERATIONS if f"  {op} " in text]) == len(OPERATIONS)
    assert "creates at most 7 resources; deletes every one it creates" in text


def test_plan_says_a_run_would_be_refused_and_why(tmp_path, emulator):
    url, _backend, log = emulator
    code, text = plan_output(tmp_path, url, environ={})
    assert code == 0
    assert "guard     REFUSED now:" in text and "INVOICING_CONTRACTS_ALLOW_REAL_ACCOUNT is not set to 1" in text
    assert f"account   {PAYER}" in text, "the plan still says who the caller is"
    assert log.operations() == []


def test_read_only_plan_creates_nothing(tmp_path, emulator):
    url, _backend, _log = emulator
    calls = plan_mod.estimate_calls(OPERATIONS, 5, read_only=True)
    code, text = plan_output(tmp_path, url, read_only=True, calls=calls)
    assert "mode      read-only: reads only; every write is kept back, unsent" in text
    for op, effect in (("CreateInvoiceUnit", "create"), ("UpdateInvoiceUnit", "update"), ("TagResource", "write")):
        assert row(text, op).split()[1:3] == [effect, "0"] and "(read-only: never sent)" in row(text, op)
    assert row(text, "ListInvoiceUnits").split()[1:3] == ["read", "10"]
    assert "creates at most 0 resources" in text


def test_plan_refuses_unknown_operations():
    with pytest.raises(ValueError, match="not operations of the installed Invoicing model: CreateInvoice"):
        plan_mod.build(clearance_account=None, caller_arn=None, region=None, endpoint_url=None, read_only=False,
                       max_resources=1, max_rate=1, pool=plan_mod.AccountPool(), run_name_prefix="ict-",
                       ledger_dir="x", calls={"CreateInvoice": 1})


# -------------------------------------------------------------------------------------------------- accounts


@pytest.mark.parametrize("content, message", [
    ("not json", "is not JSON"),
    (json.dumps(["111111111111"]), "must be a JSON object"),
    (json.dumps({"receivers": ["111111111111"], "payers": []}), "must be a JSON object"),
    (json.dumps({"linked_accounts": ["111111111111"]}), "names no receivers"),
    (json.dumps({"receivers": ["12345"]}), "account IDs are 12 digits.*'12345'"),
])
def test_accounts_file_errors_say_what_to_change(tmp_path, content, message):
    path = tmp_path / "accounts.json"
    path.write_text(content)
    with pytest.raises(plan_mod.AccountsError, match=message):
        plan_mod.accounts_from_file(path)


def test_accounts_from_organizations_list_accounts():
    with mock_aws():
        org = boto3.client("organizations", region_name="us-east-1")
        org.create_organization(FeatureSet="ALL")
        ids = {}
        for name in ("sandbox-a", "sandbox-b", "production-payments"):
            status = org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
            ids[name] = status["AccountId"]
        pool = plan_mod.accounts_from_organization(org, "sandbox-*")
        assert pool.receivers == pool.linked == tuple(sorted([ids["sandbox-a"], ids["sandbox-b"]]))
        assert ids["production-payments"] not in pool and "Organizations ListAccounts" in pool.source
        with pytest.raises(plan_mod.AccountsError, match="no ACTIVE account .* matching 'staging-\\*'"):
            plan_mod.accounts_from_organization(org, "staging-*")


def test_a_read_write_run_without_accounts_is_refused(tmp_path, emulator):
    url, _backend, log = emulator
    options = run_options(tmp_path, url=url, accounts_file=None)
    err = io.StringIO()
    with mock_aws():
        code = guard.run_aws(options, lambda real: 0, environ={guard.OPT_IN_ENV: "1"}, err=err)
    assert code == 3 and "needs the accounts it may put in invoice-unit rules" in err.getvalue()
    assert log.operations() == []


def test_the_plan_estimate_follows_the_profiles_real_account_sizing(tmp_path):
    from contracts.options import PROFILES

    for name in PROFILES:
        sized = PROFILES[name].real_account
        calls = guard.plan_calls_for(run_options(tmp_path, profile=name, operations=("CreateInvoiceUnit",
                                                                                       "ListInvoiceUnits")))
        steps = sized.stateful_examples * sized.stateful_steps
        assert calls == {"CreateInvoiceUnit": 2 * sized.max_examples + 4 * steps,
                         "ListInvoiceUnits": 2 * sized.max_examples}
