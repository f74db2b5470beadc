"""A stand-in for `invoicing-contracts run --target aws` that the kill test murders: it creates, changes and deletes
resources through a guarded, ledgered client, forever, until SIGKILL.

It goes through exactly the real-account machinery a run uses (RealAccountRun: identity, ledger, guard, budget),
only the suite is replaced by a random loop and the STS clearance by a fixed one (clearance has its own tests).
When `run --target aws` lands, the kill test can run it instead (see test_sweep.py).

    python tests/unit/contracts/_kill_driver.py URL LEDGER_DIR ACCOUNTS_FILE SEED
"""

from __future__ import annotations

import argparse
import random
import sys
import uuid

ACCOUNT = "123456789012"


def drive(url: str, ledger_dir: str, accounts_file: str, seed: int) -> None:
    from contracts import safety

    rng = random.Random(seed)
    parser = argparse.ArgumentParser()
    safety.add_arguments(parser)
    args = parser.parse_args(["--ledger-dir", ledger_dir, "--accounts-file", accounts_file, "--max-rate", "1000",
                              "--max-resources", "100000"])
    clearance = safety.Clearance(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/kill-driver", "us-east-1", url, (ACCOUNT,))
    real = safety.RealAccountRun.start(args, clearance)
    client = real.client()
    receivers = real.pool.receivers
    live: list[tuple[str, str]] = []
    step = 0
    while True:
        step += 1
        roll = rng.random()
        if len(live) > 6 or (live and roll < 0.25):
            kind, arn = live.pop(rng.randrange(len(live)))
            if kind == "unit":
                client.delete_invoice_unit(InvoiceUnitArn=arn)
            else:
                client.delete_procurement_portal_preference(ProcurementPortalPreferenceArn=arn)
        elif live and roll < 0.35:
            _kind, arn = rng.choice(live)
            client.tag_resource(ResourceArn=arn, ResourceTags=[{"Key": "step", "Value": str(step)}])
        elif roll < 0.7:
            arn = client.create_invoice_unit(
                Name=real.identity.unit_name(f"k{step}"), InvoiceReceiver=rng.choice(receivers), Rule={},
                Description=f"kill test step {step}",
            )["InvoiceUnitArn"]
            live.append(("unit", arn))
        else:
            arn = client.create_procurement_portal_preference(
                ProcurementPortalName="COUPA", BuyerDomain="NetworkID", BuyerIdentifier=f"b-{uuid.uuid4().hex[:10]}",
                SupplierDomain="NetworkID", SupplierIdentifier="kill-test", EinvoiceDeliveryEnabled=False,
                PurchaseOrderRetrievalEnabled=False, Contacts=[{"Name": "k", "Email": "k@example.com"}],
                ProcurementPortalSharedSecret=f"secret-{uuid.uuid4().hex}",
            )["ProcurementPortalPreferenceArn"]
            live.append(("preference", arn))


if __name__ == "__main__":
    url, ledger_dir, accounts_file, seed = sys.argv[1:5]
    drive(url, ledger_dir, accounts_file, int(seed))
