"""Targets: the in-process emulator, any endpoint, and a real account (inside the guarded real-account run).

The real account is the emulator's HTTP server, the caller's identity moto's STS, as in the real-account tests."""

from __future__ import annotations

import json

import pytest

from contracts.engine.targets import (
    ConfigError,
    TargetConfig,
    TargetError,
    build,
    load_config_file,
    parse_accounts,
    resolve_factory,
)
from contracts import guard as safety
from contracts.guard.ledger import TAG_RUN
from contracts.calls import Trace
from contracts.engine.results import Results
from contracts.options import PROFILES
from contracts.engine.session import Suite
from contracts.engine.targets import AwsTarget, MockTarget
from invoicing_mock import DEFAULT_ORGANIZATION
from invoicing_mock.models import InvoicingBackend
from _real_account_support import (  # noqa: F401 - fixtures
    MEMBERS,
    PAYER,
    aws_test_environment,
    emulator,
    raw_client,
    run_options,
    snapshot,
    unit_params,
)


@pytest.fixture(autouse=True)
def dummy_credentials(monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_INVOICING", raising=False)


UNIT = {"Name": "u", "InvoiceReceiver": "111111111111", "Rule": {"LinkedAccounts": ["111111111111"]}}


def test_unknown_target_is_a_usage_error():
    with pytest.raises(ConfigError, match="unknown target 'prod'; choose one of: mock, endpoint, aws"):
        build(TargetConfig(kind="prod"), Trace())


def test_aws_exists_only_inside_the_guarded_real_account_run():
    with pytest.raises(TargetError, match="runs only inside `invoicing-contracts run --target aws`") as error:
        build(TargetConfig(kind="aws"), Trace())
    assert error.value.exit_code == 3


def test_endpoint_needs_a_url():
    with pytest.raises(ConfigError, match="--endpoint-url"):
        build(TargetConfig(kind="endpoint"), Trace())
    with pytest.raises(ConfigError, match="not an http"):
        build(TargetConfig(kind="endpoint", endpoint_url="ftp://example"), Trace())


def test_endpoint_url_comes_from_botocores_environment_variable(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_INVOICING", "http://127.0.0.1:9/")
    assert build(TargetConfig(kind="endpoint"), Trace()).url == "http://127.0.0.1:9"


def test_unreachable_endpoint_is_a_target_error():
    target = build(TargetConfig(kind="endpoint", endpoint_url="http://127.0.0.1:9"), Trace())
    with pytest.raises(TargetError, match="cannot reach the endpoint http://127.0.0.1:9"):
        target.start()


def test_the_default_organisation_is_the_emulators():
    target = build(TargetConfig(), Trace())
    assert target.payer == DEFAULT_ORGANIZATION.payer
    assert set(target.members) == set(DEFAULT_ORGANIZATION.members)


def test_mock_target_answers_in_process_and_records_the_wire():
    with build(TargetConfig(), Trace()) as target:
        outcome = target.api().call("CreateInvoiceUnit", {**UNIT, "ClientToken": "t1"})
        assert outcome.ok and outcome.wire == outcome.response
        assert json.loads(outcome.sent_body)["ClientToken"] == "t1"
        assert target.backend is not None


def test_mock_target_ignores_an_endpoint_in_the_environment(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_INVOICING", "http://127.0.0.1:9")
    with build(TargetConfig(), Trace()) as target:
        assert target.api().call("ListInvoiceUnits", {}).ok


def test_mock_target_takes_a_backend_factory():
    made = []

    def factory(**options):
        made.append(options)
        return InvoicingBackend(**options)

    with build(TargetConfig(backend_factory=factory), Trace()) as target:
        assert target.api().call("ListInvoiceUnits", {}).ok
    assert [set(org.members) for org in made[0]["organizations"]] == [set(DEFAULT_ORGANIZATION.members)]


def test_mock_backend_option_resolves_module_attr():
    assert resolve_factory("invoicing_mock.models:InvoicingBackend") is InvoicingBackend
    for spec, message in (("nomodule", "module:attr"), ("no.such.module:X", "cannot import"),
                          ("invoicing_mock.models:Nope", "has no attribute 'Nope'")):
        with pytest.raises(ConfigError, match=message):
            resolve_factory(spec)


def test_calls_as_another_account_act_as_that_account():
    with build(TargetConfig(), Trace()) as target:
        preference = {"ProcurementPortalName": "COUPA", "BuyerDomain": "NetworkID", "BuyerIdentifier": "b",
                      "SupplierDomain": "NetworkID", "SupplierIdentifier": "s", "EinvoiceDeliveryEnabled": False,
                      "PurchaseOrderRetrievalEnabled": False, "Contacts": [{"Name": "n", "Email": "n@example.com"}]}
        outcome = target.api(account=target.other_account).call("CreateProcurementPortalPreference", preference)
        assert f":{target.other_account}:" in outcome.response["ProcurementPortalPreferenceArn"]


def test_accounts_from_the_flag_and_the_config_file(tmp_path):
    assert parse_accounts("123456789012, 111111111111") == ("123456789012", ("123456789012", "111111111111"))
    with pytest.raises(ConfigError, match="12-digit"):
        parse_accounts("12345")
    path = tmp_path / "target.json"
    path.write_text(json.dumps({"payer": "210987654321", "members": ["100000000001"], "hints": {"Code": ["X"]}}))
    config = load_config_file(str(path), TargetConfig())
    assert (config.payer, config.members, config.hints) == ("210987654321", ("210987654321", "100000000001"),
                                                            {"Code": ["X"]})
    path.write_text(json.dumps({"payr": "1"}))
    with pytest.raises(ConfigError, match="unknown keys"):
        load_config_file(str(path), TargetConfig())


def test_a_configured_organisation_reaches_the_emulator():
    config = TargetConfig(payer="210987654321", members=("210987654321", "100000000001"))
    with build(config, Trace()) as target:
        api = target.api()
        assert api.call("CreateInvoiceUnit", {"Name": "u", "InvoiceReceiver": "100000000001", "Rule": {}}).ok
        refused = api.call("CreateInvoiceUnit", {"Name": "v", "InvoiceReceiver": "111111111111", "Rule": {}})
        assert refused.error.get("reason") == "nonMemberPresent"


def test_endpoint_target_against_the_emulators_server():
    from invoicing_mock import server

    served = server.start(port=0)
    try:
        with build(TargetConfig(kind="endpoint", endpoint_url=served.url), Trace()) as target:
            outcome = target.api().call("CreateInvoiceUnit", UNIT)
            assert outcome.ok and outcome.response["InvoiceUnitArn"].startswith("arn:aws:invoicing::123456789012:")
    finally:
        served.stop()


# ------------------------------------------------------------------------------------------------ real account


@pytest.fixture
def real_run(tmp_path, emulator):
    """A cleared real-account run against the emulator's server: (run, url, log); cleaned up at the end."""
    from moto import mock_aws

    url, _backend, log = emulator
    args = run_options(tmp_path, url=url)
    with mock_aws():
        clearance = safety.clear(args, environ={safety.OPT_IN_ENV: "1"})
    real = safety.RealAccountRun.start(args, clearance)
    real.messages = open(tmp_path / "cleanup.log", "w")
    with real:
        yield real, url, log


def test_aws_target_works_through_the_runs_guard_and_names_only_the_runs_accounts(real_run):
    real, url, log = real_run
    with build(TargetConfig(kind="aws", real_run=real), Trace()) as target:
        assert isinstance(target, AwsTarget)
        assert (target.payer, target.members, target.receiver) == (PAYER, real.pool.accounts, MEMBERS[0])
        assert target.describe()["account"] == PAYER and target.describe()["endpoint_url"] == url
        assert target.other_account is None  # the caller's credentials: no other account to act as
        with pytest.raises(TargetError, match="cannot call as account 999999999999"):
            target.api(account="999999999999")
        names = target.config.hints["Name"]
        assert names and all(n.startswith(real.identity.name_prefix) for n in names)
        assert target.unit_name("fixture").startswith(real.identity.name_prefix)

        created = target.api().call("CreateInvoiceUnit", unit_params(names[0], receiver=target.receiver))
        assert created.ok, created.summary()
        arn = created.response["InvoiceUnitArn"]
        tags = raw_client(url).list_tags_for_resource(ResourceArn=arn)["ResourceTags"]
        assert {"Key": TAG_RUN, "Value": real.identity.run_id} in tags  # the guard tagged it
        assert not target.foreign(arn)


def test_aws_target_sends_nothing_the_guard_refuses_and_says_so(real_run):
    real, url, log = real_run
    production = raw_client(url).create_invoice_unit(**unit_params("production"))["InvoiceUnitArn"]
    log.calls.clear()
    with build(TargetConfig(kind="aws", real_run=real), Trace()) as target:
        refused = target.api().call("DeleteInvoiceUnit", {"InvoiceUnitArn": production})
        assert not refused.sent and refused.not_sent_by == "GuardRefused"
        assert "a resource of account 123456789012 that this run did not create" in refused.summary()
        # Hand-made JSON (invalid requests botocore cannot serialise) passes the guard too; a create cannot.
        raw = target.api(validate=False)
        for operation, params in (("DeleteInvoiceUnit", {"InvoiceUnitArn": production, "Bogus": 1}),
                                  ("CreateInvoiceUnit", {**unit_params("x"), "Bogus": 1})):
            outcome = raw.call(operation, params, raw=True)
            assert outcome.not_sent_by == "GuardRefused", outcome.summary()
        assert target.foreign(production)
    assert log.writes() == []


def test_aws_target_sees_omitted_and_empty_tags_as_the_same_create(real_run):
    real, _url, _log = real_run
    with build(TargetConfig(kind="aws", real_run=real), Trace()) as target:
        params = unit_params("u")
        assert target.effective_params("CreateInvoiceUnit", params) == \
            target.effective_params("CreateInvoiceUnit", {**params, "ResourceTags": []})
        assert target.effective_params("TagResource", {"ResourceArn": "a"}) == {"ResourceArn": "a"}
    with build(TargetConfig(), Trace()) as mock:  # elsewhere they are different requests
        assert mock.effective_params("CreateInvoiceUnit", params) != {**params, "ResourceTags": []}


def test_aws_target_finish_cleans_up_and_reports_the_account(real_run):
    real, url, _log = real_run
    with build(TargetConfig(kind="aws", real_run=real), Trace()) as target:
        arn = target.api().call("CreateInvoiceUnit", unit_params(real.identity.unit_name("f"))).response[
            "InvoiceUnitArn"]
        meta = target.finish()
    summary = meta["real_account"]
    assert (summary["account"], summary["region"], summary["endpoint_url"]) == (PAYER, "us-east-1", url)
    assert [c["arn"] for c in summary["created"]] == [arn]
    assert [r["arn"] for r in summary["removed_at_cleanup"]] == [arn] and summary["left_behind"] == []
    assert snapshot(raw_client(url)) == {}


def test_a_shared_suite_lists_only_what_the_run_created(real_run):
    real, url, _log = real_run
    raw_client(url).create_invoice_unit(**unit_params("someone else"))
    with build(TargetConfig(kind="aws", real_run=real), Trace()) as target:
        suite = Suite(target=target, results=Results(), operations=("CreateInvoiceUnit",),
                          sizing=PROFILES["dev"].sizing)
        ours = suite.api().call("CreateInvoiceUnit", unit_params(real.identity.unit_name("s"))).response[
            "InvoiceUnitArn"]
        listed, failed = suite.listed(suite.contract.resources["InvoiceUnit"])
        assert failed is None and set(listed) == {ours}


# ------------------------------------------------------------------------------------ eventual consistency


class Lagging(MockTarget):
    """The emulator, read as an eventually consistent service is: with repeated reads."""

    read_retries = 4
    read_retry_delay = 0.25


@pytest.mark.parametrize("variant", ["ReadAfterUpdateIsStale", "ListLagsBehindWrites"])
def test_reads_are_repeated_until_the_write_shows_only_where_the_target_asks(variant):
    from invoicing_mock import mutants

    factory = getattr(mutants, variant)
    for target_class, settles in ((Lagging, True), (MockTarget, False)):
        with target_class(TargetConfig(backend_factory=factory), Trace()) as target:
            suite = Suite(target=target, results=Results(), operations=("CreateInvoiceUnit",),
                          sizing=PROFILES["dev"].sizing)
            resource = suite.contract.resources["InvoiceUnit"]
            api = suite.api()
            arn = api.call("CreateInvoiceUnit", {**UNIT, "ClientToken": "c1"}).response["InvoiceUnitArn"]
            if variant == "ListLagsBehindWrites":
                listed, _failed = suite.listed(resource)
                assert (arn in listed) == settles
                continue
            suite.read(resource, arn)
            assert api.call("UpdateInvoiceUnit", {"InvoiceUnitArn": arn, "Description": "new",
                                                  "ClientToken": "u1"}).ok
            read = suite.read(resource, arn)
            assert (read.response.get("Description") == "new") == settles, (target_class, read.response)
            assert (suite.settling.waited > 0) == settles
