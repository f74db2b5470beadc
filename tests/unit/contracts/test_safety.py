"""The real-account guard: clearance (flag + environment + allowlist + STS) and the write guard.

The emulator's HTTP server stands in for the account, moto's STS says who the caller is. Every refusal is checked
on the emulator's request log: refused means nothing reached it."""

from __future__ import annotations

import io
import json

import pytest
from moto import mock_aws

from contracts import guard
from contracts.guard import BudgetExceeded, GuardRefused, RealAccountRun, Unsafe
from contracts.guard.ledger import TAG_RUN, TAG_TOKEN
from _real_account_support import (  # noqa: F401 - fixtures
    MEMBERS,
    PAYER,
    SECRET,
    RequestLog,
    aws_test_environment,
    emulator,
    preference_params,
    raw_client,
    run_options,
    snapshot,
    unit_params,
)

OPT_IN = {guard.OPT_IN_ENV: "1"}


def suite_creating(created: list, count: int = 2):
    """A stand-in for the contract suite: creates `count` units through the guarded client."""

    def suite(real: RealAccountRun) -> int:
        client = real.client()
        for i in range(count):
            created.append(client.create_invoice_unit(**unit_params(real.identity.unit_name(f"u{i}")))["InvoiceUnitArn"])
        return 0

    return suite


# ----------------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "case, opt_in, environ, allowed, expected",
    [
        ("no flag", False, OPT_IN, PAYER, "opt in with --allow-real-account"),
        ("flag without environment", True, {}, PAYER, "INVOICING_CONTRACTS_ALLOW_REAL_ACCOUNT is not set to 1"),
        ("environment says no", True, {guard.OPT_IN_ENV: "0"}, PAYER, "is not set to 1"),
        ("no allowlist", True, OPT_IN, None, "no account is allowlisted"),
        ("malformed allowlist", True, OPT_IN, "12345", "not 12-digit account IDs: '12345'"),
        ("caller not allowlisted", True, OPT_IN, "111122223333", f"is account {PAYER}, which is not on the allowlist"),
    ],
)
def test_refusal_exits_3_before_any_write(tmp_path, emulator, case, opt_in, environ, allowed, expected):
    url, backend, log = emulator
    options = run_options(tmp_path, url=url, opt_in=opt_in, allowed=allowed)
    err, created = io.StringIO(), []
    with mock_aws():
        code = guard.run_aws(options, suite_creating(created), environ=environ, err=err)
    message = err.getvalue()
    assert code == 3, message
    assert expected in message
    assert "region us-east-1" in message and f"endpoint {url}" in message
    assert message.count("\n") == 1, "one line"
    assert log.operations() == [], f"{case}: the emulator was called: {log.operations()}"
    assert created == [] and snapshot(raw_client(url)) == {}
    assert not (tmp_path / "ledgers").exists(), "no ledger: the run never started"


def test_refusal_names_the_callers_account_once_known(tmp_path, emulator, monkeypatch):
    url, _backend, log = emulator
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999988887777")
    err = io.StringIO()
    with mock_aws():
        code = guard.run_aws(run_options(tmp_path, url=url), suite_creating([]), environ=OPT_IN, err=err)
    assert code == 3
    assert "account 999988887777" in err.getvalue() and "arn:aws:sts::999988887777:" in err.getvalue()
    assert log.operations() == []


def test_no_credentials_is_unsafe_not_a_crash(tmp_path, emulator, monkeypatch):
    url, _backend, log = emulator
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(Unsafe, match="cannot establish the caller's account with STS GetCallerIdentity"):
        guard.clear(run_options(tmp_path, url=url), environ=OPT_IN)
    assert log.operations() == []


def test_no_sts_call_without_opt_in(tmp_path):
    class Session:
        region_name = "eu-west-1"

        def client(self, *args, **kwargs):
            raise AssertionError("STS was asked before the opt-in was given")

    with pytest.raises(Unsafe, match=r"refusing --target aws \(region eu-west-1, account not checked\)"):
        guard.clear(run_options(tmp_path, opt_in=False), environ=OPT_IN, session=Session())


def test_allowlist_from_environment(tmp_path):
    with mock_aws():
        clearance = guard.clear(run_options(tmp_path, allowed=None),
                                 environ={**OPT_IN, guard.ALLOWLIST_ENV: f"111122223333, {PAYER}"})
    assert clearance.account == PAYER and clearance.allowlist == ("111122223333", PAYER)
    assert clearance.region == "us-east-1"


# ----------------------------------------------------------------------------------------------- a cleared run


def test_cleared_run_creates_tagged_ledgered_resources_and_cleans_up(tmp_path, emulator):
    url, backend, log = emulator
    created, err = [], io.StringIO()
    seen = {}

    def suite(real):
        code = suite_creating(created)(real)
        client = real.client()
        seen["tags"] = client.list_tags_for_resource(ResourceArn=created[0])["ResourceTags"]
        seen["name"] = client.get_invoice_unit(InvoiceUnitArn=created[0])["Name"]
        seen["real"] = real
        return code

    with mock_aws():
        code = guard.run_aws(run_options(tmp_path, url=url), suite, environ=OPT_IN, err=err)
    assert code == 0, err.getvalue()
    real = seen["real"]
    assert {t["Key"]: t["Value"] for t in seen["tags"]}[TAG_RUN] == real.identity.run_id
    assert TAG_TOKEN in {t["Key"] for t in seen["tags"]}
    assert seen["name"].startswith(real.identity.name_prefix)
    assert snapshot(raw_client(url)) == {}, "the run deleted what it created"
    summary = real.summary()
    assert summary["account"] == PAYER and summary["region"] == "us-east-1"
    assert [c["arn"] for c in summary["created"]] == created
    assert sorted(r["arn"] for r in summary["removed_at_cleanup"]) == sorted(created)
    assert summary["left_behind"] == []
    assert f"against the real account {PAYER}" in err.getvalue() and "cleanup of run" in err.getvalue()


def test_the_suite_may_finish_the_cleanup_itself_for_its_report(tmp_path, emulator):
    url, _backend, log = emulator
    created, reported = [], {}

    def suite(real):
        suite_creating(created)(real)
        real.finish()  # before writing the behaviour report
        reported.update(real.summary())
        return 1

    with mock_aws():
        code = guard.run_aws(run_options(tmp_path, url=url), suite, environ=OPT_IN, err=io.StringIO())
    assert code == 1, "the suite's verdict is the run's"
    assert sorted(r["arn"] for r in reported["removed_at_cleanup"]) == sorted(created)
    assert log.writes().count("DeleteInvoiceUnit") == 2, "the context's own cleanup found nothing more to do"


@pytest.mark.parametrize("stop", [KeyboardInterrupt, RuntimeError])
def test_cleanup_on_ctrl_c_and_on_failure(tmp_path, emulator, stop):
    url, _backend, _log = emulator
    created = []

    def suite(real):
        suite_creating(created)(real)
        raise stop("stopped mid-run")

    with mock_aws(), pytest.raises(stop):
        guard.run_aws(run_options(tmp_path, url=url), suite, environ=OPT_IN, err=io.StringIO())
    assert len(created) == 2
    assert snapshot(raw_client(url)) == {}


def test_sigterm_ends_the_run_through_the_cleanup(tmp_path, emulator):
    import os
    import signal

    url, _backend, _log = emulator
    created = []

    def suite(real):
        suite_creating(created)(real)
        os.kill(os.getpid(), signal.SIGTERM)  # a cancelled CI job
        raise AssertionError("SIGTERM did not stop the run")

    before = signal.getsignal(signal.SIGTERM)
    with mock_aws(), pytest.raises(KeyboardInterrupt):
        guard.run_aws(run_options(tmp_path, url=url), suite, environ=OPT_IN, err=io.StringIO())
    assert snapshot(raw_client(url)) == {} and len(created) == 2
    assert signal.getsignal(signal.SIGTERM) == before


# --------------------------------------------------------------------------------------------- the write guard


@pytest.fixture
def guarded(tmp_path, emulator):
    """A started real-account run against the emulator, and the emulator's pieces."""
    url, backend, log = emulator
    options = run_options(tmp_path, url=url)
    with mock_aws():
        clearance = guard.clear(options, environ=OPT_IN)
    real = RealAccountRun.start(options, clearance)
    yield real, real.client(), raw_client(url), log
    real.finish()
    real.ledger.close()


def test_guard_refuses_writes_to_resources_it_did_not_create(guarded):
    real, client, raw, log = guarded
    production = raw.create_invoice_unit(**unit_params("production unit"))["InvoiceUnitArn"]
    before = snapshot(raw)
    log.calls.clear()
    attempts = [
        lambda: client.delete_invoice_unit(InvoiceUnitArn=production),
        lambda: client.update_invoice_unit(InvoiceUnitArn=production, Description="changed"),
        lambda: client.tag_resource(ResourceArn=production, ResourceTags=[{"Key": "k", "Value": "v"}]),
        lambda: client.create_procurement_portal_preference(
            **preference_params(Selector={"InvoiceUnitArns": [production]})),
    ]
    for attempt in attempts:
        with pytest.raises(GuardRefused, match=f"names {production}.*this run did not create"):
            attempt()
    assert log.writes() == []
    assert snapshot(raw) == before
    assert real.guard.refused == len(attempts)


def test_guard_allows_its_own_resources_and_foreign_account_arns(guarded):
    real, client, raw, log = guarded
    arn = client.create_invoice_unit(**unit_params(real.identity.unit_name("own")))["InvoiceUnitArn"]
    client.update_invoice_unit(InvoiceUnitArn=arn, Description="mine")
    foreign = "arn:aws:invoicing::000011112222:invoice-unit/abcdef12"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_invoice_unit(InvoiceUnitArn=foreign)  # sent: it cannot address the caller's resources
    client.delete_invoice_unit(InvoiceUnitArn=arn)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_invoice_unit(InvoiceUnitArn=arn)  # a deleted resource of ours stays ours
    assert log.writes() == ["CreateInvoiceUnit", "UpdateInvoiceUnit", "DeleteInvoiceUnit", "DeleteInvoiceUnit",
                            "DeleteInvoiceUnit"]


def test_guard_refuses_accounts_outside_the_pool(guarded):
    real, client, _raw, log = guarded
    outsider = "444455556666"
    with pytest.raises(GuardRefused, match=f"account {outsider} at Rule.LinkedAccounts\\[1\\]"):
        client.create_invoice_unit(**unit_params(real.identity.unit_name("x"), linked=[MEMBERS[2], outsider]))
    with pytest.raises(GuardRefused, match=f"account {outsider} at InvoiceReceiver"):
        client.create_invoice_unit(**unit_params(real.identity.unit_name("y"), receiver=outsider))
    assert log.operations() == []


def test_guard_checks_requests_botocore_did_not_validate(guarded):
    from botocore.config import Config

    real, _client, _raw, log = guarded
    client = real.client(config=Config(parameter_validation=False))
    outsider = "444455556666"
    with pytest.raises(GuardRefused, match=f"account {outsider} at Rule.LinkedAccounts"):
        client.create_invoice_unit(Name=real.identity.unit_name("c"), InvoiceReceiver=MEMBERS[0],
                                   Rule={"LinkedAccounts": outsider})  # a string where the model wants a list
    with pytest.raises(GuardRefused, match="ResourceTags is not a list"):
        client.create_invoice_unit(**unit_params(real.identity.unit_name("d"), ResourceTags="k=v"))
    assert log.operations() == []


def test_guard_protects_the_runs_own_tags(guarded):
    real, client, _raw, log = guarded
    arn = client.create_invoice_unit(**unit_params(real.identity.unit_name("t")))["InvoiceUnitArn"]
    with pytest.raises(GuardRefused, match="run's own tags"):
        client.untag_resource(ResourceArn=arn, ResourceTagKeys=[TAG_RUN])
    with pytest.raises(GuardRefused, match="run's own tags"):
        client.tag_resource(ResourceArn=arn, ResourceTags=[{"Key": TAG_TOKEN, "Value": "other"}])
    assert log.writes() == ["CreateInvoiceUnit"]


def test_create_tags_keep_a_valid_request_valid(guarded):
    real, client, _raw, log = guarded
    many = [{"Key": f"k{i}", "Value": "v"} for i in range(199)]
    with pytest.raises(GuardRefused, match="would exceed the model's 200.*draw at most 198"):
        client.create_invoice_unit(**unit_params(real.identity.unit_name("m"), ResourceTags=many))
    arn = client.create_invoice_unit(**unit_params(real.identity.unit_name("n"), ResourceTags=many[:198]))[
        "InvoiceUnitArn"]
    assert len(client.list_tags_for_resource(ResourceArn=arn)["ResourceTags"]) == 200


def test_replay_with_the_same_token_is_one_resource_and_one_budget_unit(guarded):
    real, client, raw, _log = guarded
    params = unit_params(real.identity.unit_name("r"), ClientToken="replayed-token-1")
    first = client.create_invoice_unit(**params)["InvoiceUnitArn"]
    again = client.create_invoice_unit(**params)["InvoiceUnitArn"]
    assert first == again and real.resources.used == 1
    assert len(snapshot(raw)) == 1


def test_budget_stops_creates_before_sending(tmp_path, emulator):
    url, _backend, log = emulator
    options = run_options(tmp_path, url=url, max_resources=2)
    with mock_aws():
        real = RealAccountRun.start(options, guard.clear(options, environ=OPT_IN))
    client = real.client()
    for i in range(2):
        client.create_invoice_unit(**unit_params(real.identity.unit_name(f"b{i}")))
    with pytest.raises(BudgetExceeded, match="resource 3 of this run, over its budget of 2; nothing was sent"):
        client.create_invoice_unit(**unit_params(real.identity.unit_name("b3")))
    # Invalid or not, a create beyond the budget is not sent: a service may carry out what the validator refuses.
    with pytest.raises(BudgetExceeded):
        client.create_invoice_unit(**unit_params("invalid receiver", receiver="1"))
    assert log.writes().count("CreateInvoiceUnit") == 2
    real.finish()
    assert snapshot(raw_client(url)) == {}


def test_every_create_claims_the_budget_before_it_is_sent_valid_or_not(tmp_path):
    """A service may accept what the local validator calls invalid (here a Name over the model's 50 characters,
    which botocore does not check either): such a create claims the budget before it is sent, so the budget bounds
    what exists. A create the service refuses with a client error gives its claim back."""
    from invoicing_mock import server
    from invoicing_mock.mutants import NameTooLongAccepted

    log = RequestLog()
    served = server.start(backend=NameTooLongAccepted(faults=log))
    try:
        options = run_options(tmp_path, url=served.url, max_resources=2)
        with mock_aws():
            real = RealAccountRun.start(options, guard.clear(options, environ=OPT_IN))
        client = real.client()
        with pytest.raises(client.exceptions.ValidationException):
            client.create_invoice_unit(**unit_params(real.identity.unit_name("refused"), receiver="1"))
        assert real.resources.used == 0  # refused: no effect, the claim was given back
        too_long = real.identity.name_prefix + "x" * 50
        client.create_invoice_unit(**unit_params(too_long))  # the validator's "invalid"; this service creates it
        client.create_invoice_unit(**unit_params(real.identity.unit_name("valid")))
        assert real.resources.used == 2
        with pytest.raises(BudgetExceeded):
            client.create_invoice_unit(**unit_params(too_long + "y"))
        assert log.writes().count("CreateInvoiceUnit") == 3 and len(real.guard.created) == 2
        real.finish()
        assert snapshot(raw_client(served.url)) == {}
    finally:
        served.stop()


def test_read_only_sends_no_write_valid_or_not(tmp_path, emulator):
    url, _backend, log = emulator
    options = run_options(tmp_path, url=url, read_only=True)
    with mock_aws():
        real = RealAccountRun.start(options, guard.clear(options, environ=OPT_IN))
    client = real.client()
    attempts = [
        lambda: client.create_invoice_unit(**unit_params(real.identity.unit_name("v"))),
        lambda: client.create_invoice_unit(**unit_params("invalid receiver", receiver="1")),
        lambda: client.create_invoice_unit(Name="missing required members"),  # botocore would refuse it too
        lambda: client.tag_resource(ResourceArn="arn:aws:invoicing::000011112222:invoice-unit/abcdef12",
                                    ResourceTags=[{"Key": "k", "Value": "v"}]),
    ]
    for attempt in attempts:
        with pytest.raises(GuardRefused, match="is a write and this is a --read-only run, which sends reads only"):
            attempt()
    client.list_invoice_units()
    assert log.operations() == ["ListInvoiceUnits"]
    assert real.resources.limit == 0 and real.guard.refused == len(attempts)
    real.finish()


def _session_with_a_newer_model(tmp_path):
    """A boto3 session whose Invoicing model has a CreateInvoiceUnit member the installed model lacks (as an SDK
    newer than the contracts would have): botocore sends it, the local validator calls it unknown."""
    import boto3
    import botocore.session
    from botocore.loaders import Loader

    installed = Loader()
    api_version = installed.determine_latest_version("invoicing", "service-2")
    model = installed.load_service_model("invoicing", "service-2", api_version)
    model["shapes"]["CreateInvoiceUnitRequest"]["members"]["Priority"] = {"shape": "InvoiceUnitName"}
    folder = tmp_path / "models" / "invoicing" / api_version
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(model))
    core = botocore.session.get_session()
    core.get_component("data_loader").search_paths.insert(0, str(tmp_path / "models"))
    return boto3.Session(botocore_session=core, region_name="us-east-1")


def test_read_only_keeps_back_a_write_a_lenient_service_would_carry_out(tmp_path):
    """A write the local validator calls invalid (here: an unknown member) is not harmless. A service
    that ignores unknown members creates the unit; a read-only run must not send it at all."""
    from invoicing_mock import server
    from invoicing_mock.models import InvoicingBackend
    from _real_account_support import RequestLog

    from contracts import validate_request

    def ignores_unknown_members(operation, params):
        return [p for p in validate_request(operation, params, wire=True) if p.constraint != "unknown"]

    log = RequestLog()
    served = server.start(backend=InvoicingBackend(faults=log, validator=ignores_unknown_members))
    try:
        session = _session_with_a_newer_model(tmp_path)
        request = unit_params("ict-lenient-unit", Priority="high")
        assert [p.constraint for p in validate_request("CreateInvoiceUnit", request)] == ["unknown"]
        options = run_options(tmp_path, url=served.url, read_only=True)
        with mock_aws():
            real = RealAccountRun.start(options, guard.clear(options, environ=OPT_IN), session=session)
        client = real.client()
        with pytest.raises(GuardRefused, match="--read-only"):
            client.create_invoice_unit(**request)
        assert log.writes() == [] and snapshot(raw_client(served.url)) == {}, "the read-only run wrote"
        real.finish()
        # The same request, unguarded, is carried out: what the read-only guard kept back had an effect.
        created = session.client("invoicing", endpoint_url=served.url).create_invoice_unit(**request)
        assert log.writes() == ["CreateInvoiceUnit"] and list(snapshot(raw_client(served.url))) == [
            created["InvoiceUnitArn"]]
    finally:
        served.stop()


def test_what_the_guard_and_budget_keep_back_is_not_sent_for_the_suite(guarded):
    """GuardRefused and BudgetExceeded are contracts.calls.NotSent: the suite's Api records them as not sent."""
    from contracts.calls import Api, NotSent, Trace

    real, client, _raw, log = guarded
    assert issubclass(GuardRefused, NotSent) and issubclass(BudgetExceeded, NotSent)
    outcome = Api(client, trace=Trace()).call("DeleteInvoiceUnit", {
        "InvoiceUnitArn": f"arn:aws:invoicing::{PAYER}:invoice-unit/abcdef12"})
    assert (outcome.sent, outcome.not_sent_by) == (False, "GuardRefused") and "did not create" in outcome.not_sent
    assert log.operations() == []


def test_ledger_and_summary_never_hold_a_sensitive_member(guarded):
    real, client, raw, _log = guarded
    client.create_procurement_portal_preference(**preference_params(ProcurementPortalSharedSecret=SECRET))
    real.finish()
    written = real.ledger.path.read_text()
    assert SECRET not in written and "ProcurementPortalSharedSecret" not in written
    assert SECRET not in json.dumps(real.summary())
    assert snapshot(raw) == {}


# --------------------------------------------------------------------------------------------------- profiles


def test_real_account_profiles_have_no_deadline_and_few_examples():
    from hypothesis import settings

    from contracts.options import PROFILES, register_profiles

    register_profiles()
    for name in ("dev", "ci", "thorough"):
        profile = settings.get_profile(f"invoicing-aws-{name}")
        assert profile.deadline is None and profile.max_examples <= 15
        assert profile.max_examples == PROFILES[name].real_account.max_examples


def test_the_run_is_handed_to_the_suite_and_held_nowhere_else(tmp_path, emulator):
    """No process-global run: the suite gets its run as an argument, and two runs in one process each guard
    their own resources only."""
    url, _backend, log = emulator
    seen = []
    with mock_aws():
        code = guard.run_aws(run_options(tmp_path, url=url), lambda real: seen.append(real) or 0, environ=OPT_IN,
                             err=io.StringIO())
    assert code == 0 and len(seen) == 1 and isinstance(seen[0], RealAccountRun)
    assert seen[0].clearance.account == PAYER

    options = run_options(tmp_path, url=url)
    with mock_aws():
        first, second = (RealAccountRun.start(options, guard.clear(options, environ=OPT_IN)) for _ in range(2))
    arn = first.client().create_invoice_unit(**unit_params(first.identity.unit_name("a")))["InvoiceUnitArn"]
    with pytest.raises(GuardRefused, match="this run did not create"):
        second.client().delete_invoice_unit(InvoiceUnitArn=arn)
    first.client().delete_invoice_unit(InvoiceUnitArn=arn)
    assert log.writes() == ["CreateInvoiceUnit", "DeleteInvoiceUnit"]
    for real in (first, second):
        real.finish()
        real.ledger.close()
