"""Targets: the in-process emulator, any endpoint, and the refused real account."""

from __future__ import annotations

import json

import pytest

from contracts.targets import (
    ConfigError,
    TargetConfig,
    TargetError,
    build,
    load_config_file,
    parse_accounts,
    resolve_factory,
)
from invoicing_mock import DEFAULT_ORGANIZATION
from invoicing_mock.models import InvoicingBackend


@pytest.fixture(autouse=True)
def dummy_credentials(monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_INVOICING", raising=False)


UNIT = {"Name": "u", "InvoiceReceiver": "111111111111", "Rule": {"LinkedAccounts": ["111111111111"]}}


def test_unknown_target_is_a_usage_error():
    with pytest.raises(ConfigError, match="unknown target 'prod'; choose one of: mock, endpoint, aws"):
        build(TargetConfig(kind="prod"))


def test_aws_is_refused_until_the_real_account_mode_exists():
    with pytest.raises(TargetError, match="--target aws is refused") as error:
        build(TargetConfig(kind="aws"))
    assert error.value.exit_code == 3


def test_endpoint_needs_a_url():
    with pytest.raises(ConfigError, match="--endpoint-url"):
        build(TargetConfig(kind="endpoint"))
    with pytest.raises(ConfigError, match="not an http"):
        build(TargetConfig(kind="endpoint", endpoint_url="ftp://example"))


def test_endpoint_url_comes_from_botocores_environment_variable(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_INVOICING", "http://127.0.0.1:9/")
    assert build(TargetConfig(kind="endpoint")).url == "http://127.0.0.1:9"


def test_unreachable_endpoint_is_a_target_error():
    target = build(TargetConfig(kind="endpoint", endpoint_url="http://127.0.0.1:9"))
    with pytest.raises(TargetError, match="cannot reach the endpoint http://127.0.0.1:9"):
        target.start()


def test_the_default_organisation_is_the_emulators():
    target = build(TargetConfig())
    assert target.payer == DEFAULT_ORGANIZATION.payer
    assert set(target.members) == set(DEFAULT_ORGANIZATION.members)


def test_mock_target_answers_in_process_and_records_the_wire():
    with build(TargetConfig()) as target:
        outcome = target.api().call("CreateInvoiceUnit", {**UNIT, "ClientToken": "t1"})
        assert outcome.ok and outcome.wire == outcome.response
        assert json.loads(outcome.sent_body)["ClientToken"] == "t1"
        assert target.backend is not None


def test_mock_target_ignores_an_endpoint_in_the_environment(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_INVOICING", "http://127.0.0.1:9")
    with build(TargetConfig()) as target:
        assert target.api().call("ListInvoiceUnits", {}).ok


def test_mock_target_takes_a_backend_factory():
    made = []

    def factory(**options):
        made.append(options)
        return InvoicingBackend(**options)

    with build(TargetConfig(backend_factory=factory)) as target:
        assert target.api().call("ListInvoiceUnits", {}).ok
    assert [set(org.members) for org in made[0]["organizations"]] == [set(DEFAULT_ORGANIZATION.members)]


def test_mock_backend_option_resolves_module_attr():
    assert resolve_factory("invoicing_mock.models:InvoicingBackend") is InvoicingBackend
    for spec, message in (("nomodule", "module:attr"), ("no.such.module:X", "cannot import"),
                          ("invoicing_mock.models:Nope", "has no attribute 'Nope'")):
        with pytest.raises(ConfigError, match=message):
            resolve_factory(spec)


def test_calls_as_another_account_act_as_that_account():
    with build(TargetConfig()) as target:
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
    with build(config) as target:
        api = target.api()
        assert api.call("CreateInvoiceUnit", {"Name": "u", "InvoiceReceiver": "100000000001", "Rule": {}}).ok
        refused = api.call("CreateInvoiceUnit", {"Name": "v", "InvoiceReceiver": "111111111111", "Rule": {}})
        assert refused.error.get("reason") == "nonMemberPresent"


def test_endpoint_target_against_the_emulators_server():
    from invoicing_mock import server

    served = server.start(port=0)
    try:
        with build(TargetConfig(kind="endpoint", endpoint_url=served.url)) as target:
            outcome = target.api().call("CreateInvoiceUnit", UNIT)
            assert outcome.ok and outcome.response["InvoiceUnitArn"].startswith("arn:aws:invoicing::123456789012:")
    finally:
        served.stop()
