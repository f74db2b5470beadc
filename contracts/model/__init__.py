"""The installed Invoicing model must be one the contracts were written for."""

from __future__ import annotations

import botocore

from strategies import service_model, token_members

# The operations that carry an idempotency token in the model the contracts were written against
# (botocore >= 1.44.0). Six of them gained it in May 2026 (botocore 1.43.14).
TOKEN_OPERATIONS = (
    "CreateInvoiceUnit",
    "UpdateInvoiceUnit",
    "DeleteInvoiceUnit",
    "CreateProcurementPortalPreference",
    "PutProcurementPortalPreference",
    "UpdateProcurementPortalPreferenceStatus",
    "DeleteProcurementPortalPreference",
    "SendProcurementPortalValidation",
    "VerifyProcurementPortalValidation",
)


class ModelTooOld(RuntimeError):
    """The installed botocore's Invoicing model lacks what the contracts need (CLI exit code 2)."""


def check_installed_model() -> None:
    """Raise ModelTooOld naming the botocore version and the operations that lack ClientToken."""
    model = service_model("invoicing")
    missing = [op for op in TOKEN_OPERATIONS if op not in model.operation_names or not token_members(model.operation_model(op))]
    if missing:
        raise ModelTooOld(
            f"botocore {botocore.__version__} has an Invoicing model without ClientToken on "
            f"{', '.join(missing)}; install the project's pinned dependencies (pip install -e .), "
            f"which require botocore>=1.44.0"
        )
