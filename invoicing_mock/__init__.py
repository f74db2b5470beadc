"""An AWS Invoicing emulator, faithful to the botocore model and the documented rules.

In-process (botocore clients made inside talk to it; nothing reaches the network):

    with mock_invoicing() as mock:            # or @mock_invoicing / @mock_invoicing(clock=ManualClock())
        boto3.client("invoicing", region_name="us-east-1").list_invoice_units()
        mock.backend                          # the InvoicingBackend: state, clock, faults, organisations

Over HTTP: `invoicing-contracts serve --port N`, or `invoicing_mock.server.start(port=0)` in tests.
Module map (moto's split): models/ (state, one method per operation: a backend composed from one mixin per
resource family, and the request path with its public hooks in models/base.py), responses.py (AWS JSON 1.0 wire
protocol only), exceptions.py (one class per model error shape), call.py (one request as the backend sees it),
core.py (mock_invoicing), server.py (HTTP and `serve`), organization.py (callers and organisations),
idempotency.py, pagination.py, clock.py, faults.py (the fault seam and scheduled faults), mutants.py and
planted.py (variants with one planted fault each, through the public hooks), synthetic.py, sensitive.py.
Faults: docs/faults.md. The emulator imports only `strategies` and `contracts` (their public faces: the model and
the validator), never the suite's engine, reports or CLI.
"""

from invoicing_mock.core import InvoicingRequestEscaped, mock_invoicing, patch_client
from invoicing_mock.organization import DEFAULT_ORGANIZATION, Organization

__all__ = ["mock_invoicing", "DEFAULT_ORGANIZATION", "Organization", "InvoicingRequestEscaped", "patch_client"]
