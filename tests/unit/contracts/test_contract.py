"""contracts/invoicing.json against the model: it loads for the installed one and fails loudly otherwise."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest
from botocore.model import ServiceModel

from contracts.packs.contract import DATA_FILE, ContractDataError, load, parse
from contracts.model import TOKEN_OPERATIONS, token_members
from strategies import service_model

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "models"


@pytest.fixture
def data() -> dict:
    return json.loads(DATA_FILE.read_text())


def fixture_model(version: str) -> ServiceModel:
    return ServiceModel(json.loads(gzip.open(FIXTURES / f"invoicing-botocore-{version}.json.gz").read()))


def test_installed_model_has_an_entry_for_every_token_operation():
    contract = load()
    with_tokens = {op for op in service_model().operation_names if token_members(op)}
    assert set(contract.operations) == with_tokens == set(TOKEN_OPERATIONS)


def test_conflict_error_is_conflict_exception_exactly_where_declared():
    contract = load()
    for op in contract.operations.values():
        expected = "ConflictException" if "ConflictException" in op.declared_errors else "ValidationException"
        assert op.conflict_error == expected, op.name
    assert contract.operations["CreateProcurementPortalPreference"].conflict_error == "ConflictException"
    assert contract.operations["CreateInvoiceUnit"].conflict_error == "ValidationException"


def test_resources_read_back_through_their_get_and_list():
    unit = load().resources["InvoiceUnit"]
    assert (unit.read, unit.list, unit.identifier) == ("GetInvoiceUnit", "ListInvoiceUnits", "InvoiceUnitArn")


def test_a_token_operation_without_an_entry_is_a_failure_not_a_skip(data):
    del data["operations"]["SendProcurementPortalValidation"]
    with pytest.raises(ContractDataError, match=r"operations\.SendProcurementPortalValidation: missing"):
        parse(data)


def test_a_conflict_error_the_rule_does_not_give_is_refused(data):
    data["operations"]["CreateInvoiceUnit"]["conflict_error"] = "ConflictException"
    with pytest.raises(ContractDataError, match="does not declare ConflictException"):
        parse(data)


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("resources", "InvoiceUnit", "read"), "GetInvoiceUnits", "not an operation of the installed model"),
        (("resources", "InvoiceUnit", "list_member"), "Units", "not in ListInvoiceUnits's output"),
        (("operations", "UpdateInvoiceUnit", "response_identifier"), "Arn", "not a member of UpdateInvoiceUnit"),
        (("operations", "UpdateInvoiceUnit", "effect"), "upsert", "is not one of"),
        (("operations", "UpdateInvoiceUnit", "volatile"), ["LastModified"], "not a member of UpdateInvoiceUnit"),
        (("operations", "UpdateInvoiceUnit", "resource"), "Invoice", "is not one of"),
        (("domain_reasons",), ["notAReason"], "not a ValidationExceptionReason"),
    ],
)
def test_every_name_is_checked_against_the_model(data, path, value, message):
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ContractDataError, match=message):
        parse(data)


def test_an_entry_for_an_operation_without_a_token_is_refused(data):
    data["operations"]["GetInvoiceUnit"] = copy.deepcopy(data["operations"]["UpdateInvoiceUnit"])
    with pytest.raises(ContractDataError, match="gives GetInvoiceUnit no idempotency token"):
        parse(data)


def test_all_problems_are_listed_at_once(data):
    data["operations"]["CreateInvoiceUnit"]["conflict_error"] = "ConflictException"
    del data["operations"]["DeleteInvoiceUnit"]
    with pytest.raises(ContractDataError) as error:
        parse(data)
    assert "2 problems" in str(error.value)


def test_the_model_before_the_client_token_change_disagrees_loudly(data):
    # botocore 1.43.13: six operations had no ClientToken yet, two operations did not exist.
    with pytest.raises(ContractDataError) as error:
        parse(data, fixture_model("1.43.13"))
    text = str(error.value)
    for op in ("CreateInvoiceUnit", "UpdateInvoiceUnit", "DeleteInvoiceUnit", "PutProcurementPortalPreference"):
        assert f"gives {op} no idempotency token" in text
    assert "SendProcurementPortalValidation: not an operation" in text


def test_unreadable_data_file_names_the_file(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text("{")
    with pytest.raises(ContractDataError, match="broken.json"):
        load(str(bad))
