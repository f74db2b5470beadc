"""mock_invoicing as context manager and decorator, inside and outside moto's mock_aws, and the guard that keeps
Invoicing requests on the machine."""

from __future__ import annotations

import threading

import boto3
import botocore.session
import pytest
from moto import mock_aws

from invoicing_mock import DEFAULT_ORGANIZATION, InvoicingRequestEscaped, Organization, mock_invoicing, patch_client
from invoicing_mock.core import EVENT, _before_send
from invoicing_mock.exceptions import MODEL_ERRORS
from invoicing_mock.models import InvoicingBackend
from strategies import service_model

PAYER = "123456789012"


def invoicing():
    return boto3.client("invoicing", region_name="us-east-1")


def test_the_context_manager_starts_empty_each_time():
    with mock_invoicing():
        invoicing().create_invoice_unit(Name="A", InvoiceReceiver=PAYER, Rule={})
        assert len(invoicing().list_invoice_units()["InvoiceUnits"]) == 1
    with mock_invoicing():
        assert invoicing().list_invoice_units()["InvoiceUnits"] == []


@mock_invoicing
def test_the_bare_decorator_works():
    assert invoicing().list_invoice_units()["InvoiceUnits"] == []


@mock_invoicing(organizations=[Organization.of("210987654321", ["111122223333"])])
def test_the_configured_decorator_works():
    client = boto3.client("invoicing", region_name="us-east-1", aws_access_key_id="210987654321", aws_secret_access_key="x")
    client.create_invoice_unit(Name="A", InvoiceReceiver="111122223333", Rule={})


class TestAsAMethodDecorator:
    @mock_invoicing
    def test_binds_self(self):
        assert isinstance(self, TestAsAMethodDecorator)
        assert invoicing().list_invoice_units()["InvoiceUnits"] == []


def test_the_default_organization_is_documented():
    assert DEFAULT_ORGANIZATION.payer == PAYER and len(DEFAULT_ORGANIZATION.members) == 6


def test_inside_mock_aws_invoicing_is_answered_and_other_services_are_moto():
    with mock_aws(), mock_invoicing():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="emulator-test-bucket")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["emulator-test-bucket"]
        assert invoicing().list_procurement_portals()["ProcurementPortals"]


def test_inside_mock_aws_the_organization_comes_from_moto(refused):
    with mock_aws(), mock_invoicing():
        orgs = boto3.client("organizations", region_name="us-east-1")
        # no organisation in moto yet: the default one applies
        invoicing().create_invoice_unit(Name="Default", InvoiceReceiver="111111111111", Rule={})
        orgs.create_organization(FeatureSet="ALL")
        status = orgs.create_account(AccountName="team", Email="team@example.com")["CreateAccountStatus"]
        member = status["AccountId"]
        client = invoicing()
        client.create_invoice_unit(Name="Team", InvoiceReceiver=member, Rule={"LinkedAccounts": [member]})
        error = refused(client.create_invoice_unit, Name="Old", InvoiceReceiver="222222222222", Rule={})
        assert error["reason"] == "nonMemberPresent"
        # the moto member account is a member, not the payer
        as_member = boto3.client(
            "invoicing", region_name="us-east-1", aws_access_key_id=member, aws_secret_access_key="x"
        )
        assert refused(as_member.list_invoice_units)["Code"] == "AccessDeniedException"


def test_mock_aws_started_after_mock_invoicing_still_answers_invoicing():
    with mock_invoicing(), mock_aws():
        assert invoicing().list_invoice_units()["InvoiceUnits"] == []


def test_a_client_without_the_handler_cannot_reach_the_network():
    session = botocore.session.get_session()
    client = session.create_client("invoicing", region_name="us-east-1")
    client.meta.events.unregister(EVENT, _before_send)  # as if created before invoicing_mock was imported
    with mock_invoicing():
        with pytest.raises(InvoicingRequestEscaped) as raised:
            client.list_invoice_units()
        assert "https://invoicing.us-east-1." in str(raised.value)
        assert "patch_client" in str(raised.value)
        patch_client(client)
        assert client.list_invoice_units()["InvoiceUnits"] == []


def test_the_guard_is_lifted_when_the_mock_stops():
    import botocore.httpsession

    from invoicing_mock import core

    # In one pytest session with tests/contract, that suite's mock target is still active here: then the guard
    # must stay installed for it, and only the state before this test is restored.
    outer = list(core._active.started)
    original = botocore.httpsession.URLLib3Session.send
    assert (original is core._guarded_send) == bool(outer)
    with mock_invoicing():
        assert botocore.httpsession.URLLib3Session.send is core._guarded_send
        with mock_invoicing():
            pass
        assert botocore.httpsession.URLLib3Session.send is core._guarded_send
    assert botocore.httpsession.URLLib3Session.send is original
    assert core._active.started == outer


def test_nested_mocks_answer_from_the_innermost():
    with mock_invoicing():
        invoicing().create_invoice_unit(Name="Outer", InvoiceReceiver=PAYER, Rule={})
        with mock_invoicing():
            assert invoicing().list_invoice_units()["InvoiceUnits"] == []
        assert [u["Name"] for u in invoicing().list_invoice_units()["InvoiceUnits"]] == ["Outer"]


def _own_client():
    # A session per thread: boto3's default session is not safe to share between threads creating clients.
    return boto3.session.Session().client("invoicing", region_name="us-east-1")


def test_two_threads_with_a_mock_each_reach_their_own_backend():
    backends = {name: InvoicingBackend() for name in ("left", "right")}
    both_started, both_listed = threading.Barrier(2, timeout=10), threading.Barrier(2, timeout=10)
    seen, errors = {}, []

    def use(name: str):
        try:
            with mock_invoicing(backend=backends[name]) as mock:
                assert mock.backend is backends[name]
                both_started.wait()  # both mocks active at once from here on
                client = _own_client()
                for i in range(5):
                    client.create_invoice_unit(Name=f"{name}-{i}", InvoiceReceiver=PAYER, Rule={})
                seen[name] = [u["Name"] for u in client.list_invoice_units()["InvoiceUnits"]]
                both_listed.wait()  # neither stops before the other has listed
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=use, args=(name,)) for name in backends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for name, backend in backends.items():
        expected = [f"{name}-{i}" for i in range(5)]
        assert seen[name] == expected
        assert [h.current["Name"] for h in backend.invoice_unit_histories(PAYER).values()] == expected


def test_a_thread_without_a_mock_of_its_own_reaches_the_mock_that_started_last():
    with mock_invoicing() as mock:
        answers = []
        worker = threading.Thread(target=lambda: answers.append(
            _own_client().create_invoice_unit(Name="W", InvoiceReceiver=PAYER, Rule={})["InvoiceUnitArn"]))
        worker.start()
        worker.join()
        assert list(mock.backend.invoice_unit_histories(PAYER)) == answers


def test_one_exception_class_per_model_error_shape():
    assert set(MODEL_ERRORS) == {shape.name for shape in service_model("invoicing").error_shapes}


def test_every_model_operation_has_a_method():
    backend = InvoicingBackend()
    assert set(backend.operations) == set(service_model("invoicing").operation_names)
    # moto style: each operation's docstring says what it simplifies or decides
    assert [op for op, method in backend.operations.items() if not method.__doc__] == []
