"""The suite refuses an installed Invoicing model that lacks the ClientToken members."""

import gzip
import json
from pathlib import Path

import pytest
from botocore.model import ServiceModel

import contracts.model
from contracts.cli import main
from contracts.model import TOKEN_OPERATIONS, ModelTooOld, check_installed_model, token_members

FIXTURES = Path(__file__).parents[2] / "fixtures" / "models"


def fixture_model(version: str) -> ServiceModel:
    with gzip.open(FIXTURES / f"invoicing-botocore-{version}.json.gz") as handle:
        return ServiceModel(json.load(handle), "invoicing")


def test_installed_model_has_a_client_token_on_every_token_operation():
    check_installed_model()
    assert all(token_members(op) == ["ClientToken"] for op in TOKEN_OPERATIONS)


@pytest.mark.parametrize(
    "version, missing",
    [
        # Before May 2026 only CreateProcurementPortalPreference carried a token, and the validation flow
        # operations did not exist yet.
        ("1.43.13", {op for op in TOKEN_OPERATIONS if op != "CreateProcurementPortalPreference"}),
        ("1.43.14", {"SendProcurementPortalValidation", "VerifyProcurementPortalValidation"}),
    ],
)
def test_an_older_model_is_refused_naming_what_it_lacks(monkeypatch, version, missing):
    monkeypatch.setattr(contracts.model, "service_model", lambda service="invoicing": fixture_model(version))
    with pytest.raises(ModelTooOld) as raised:
        check_installed_model()
    named = {op for op in TOKEN_OPERATIONS if op in str(raised.value)}
    assert named == missing
    assert "botocore>=1.44.0" in str(raised.value)


def test_the_cli_exits_2_with_one_line_on_an_older_model(monkeypatch, capsys):
    monkeypatch.setattr(contracts.model, "service_model", lambda service="invoicing": fixture_model("1.43.13"))
    assert main(["coverage"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "without ClientToken" in err
