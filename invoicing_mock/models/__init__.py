"""State and behaviour of the Invoicing emulator, composed the way moto composes a large backend: one mixin per
resource family, one method per operation, named as botocore names it.

Every operation method takes the caller's account and the request in its JSON wire form (already validated
against the model) and returns the response in wire form, or raises an error of `invoicing_mock.exceptions`.
Each module's docstring states its rules and where they come from; each method's docstring what it simplifies.

    base.py                 BackendBase: configuration, shared state, the request path (validation, idempotency
                            tokens, dispatch) and its public hooks, which variants override
    invoice_units.py        InvoiceUnitsMixin: invoice units, their rules and their AsOf history
    procurement_portals.py  ProcurementPortalsMixin: preferences and the validation flow; `validation_code`
    tags.py                 TagsMixin: tags on any live resource
    invoices.py             InvoicesMixin: read-only synthetic data (profiles, invoice summaries, PDFs, portals)
    documented_rules.py     rules the model's documentation strings state, each quoted with its source (ReceiverRole
                            and TimeInterval limits, HTTPS endpoints, Marketplace punch-out)

Idempotency: docs/idempotency.md and the docstring of `invoicing_mock.models.base`.
"""

from __future__ import annotations

from invoicing_mock.call import Call
from invoicing_mock.models.base import HOOKS, BackendBase, Limits, default_validator
from invoicing_mock.models.invoice_units import InvoiceUnitsMixin, UnitHistory
from invoicing_mock.models.invoices import InvoicesMixin
from invoicing_mock.models.procurement_portals import Preference, ProcurementPortalsMixin, validation_code
from invoicing_mock.models.tags import TagsMixin


class InvoicingBackend(InvoiceUnitsMixin, ProcurementPortalsMixin, TagsMixin, InvoicesMixin, BackendBase):
    """The emulator: every Invoicing operation, for every account, behind one lock (configuration: see
    `BackendBase`; the public hooks variants override: see `invoicing_mock.models.base`)."""


__all__ = [
    "InvoicingBackend", "BackendBase", "Limits", "Call", "validation_code", "default_validator", "HOOKS",
    "UnitHistory", "Preference",
]
