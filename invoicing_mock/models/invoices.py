"""Read-only data the emulator cannot own: invoice profiles, invoice summaries and PDFs, procurement portals and
their suppliers. One mixin of the backend (`InvoicesMixin`); the data itself is made up, deterministically, by
`invoicing_mock.synthetic` (what it simplifies is said there).

Visibility: a payer sees its organisation's invoices, a member account its own; anything else is
ResourceNotFoundException. Invoice profiles are the payer's to read (AccessDeniedException for a member).
"""

from __future__ import annotations

from invoicing_mock import synthetic
from invoicing_mock.exceptions import ResourceNotFoundException, ValidationException
from invoicing_mock.models import documented_rules
from invoicing_mock.models.base import BackendBase, clip
from invoicing_mock.organization import Organization


class InvoicesMixin(BackendBase):
    """BatchGetInvoiceProfile, ListInvoiceSummaries, GetInvoicePDF, ListProcurementPortals,
    ListProcurementPortalSuppliers."""

    def batch_get_invoice_profile(self, account: str, params: dict) -> dict:
        """Made-up profiles derived from the account IDs (see synthetic.py); one per distinct account, in
        request order; every account must be an organisation member (nonMemberPresent)."""
        org = self._management_org(account)
        outsiders = [(i, a) for i, a in enumerate(params["AccountIds"]) if a not in org]
        if outsiders:
            raise ValidationException(
                clip(
                    f"Account(s) {', '.join(sorted({a for _, a in outsiders}))} are not members of the "
                    f"organization of management account {org.payer}"
                ),
                reason="nonMemberPresent",
                field_list=[{"name": f"AccountIds[{i}]", "message": f"{a} is not an organization member"} for i, a in outsiders],
            )
        unique = list(dict.fromkeys(params["AccountIds"]))
        return {"Profiles": [synthetic.invoice_profile(a) for a in unique]}

    def _visible_accounts(self, account: str) -> Organization:
        """A payer sees its organisation's invoices; a member account sees its own."""
        org = self.directory.organization_of(account)
        return org if org.payer == account else Organization.of(account)

    def _invoice(self, account: str, invoice_id: str) -> tuple[str, int, int]:
        parsed = synthetic.parse_invoice_id(invoice_id)
        if parsed is None or parsed[0] not in self._visible_accounts(account):
            raise ResourceNotFoundException(clip(f"Invoice {invoice_id!r} does not exist for account {account}"))
        return parsed

    def list_invoice_summaries(self, account: str, params: dict) -> dict:
        """Made-up monthly invoices of 2025 (see synthetic.py). A payer sees its organisation's accounts, a
        member its own; others are ResourceNotFoundException. The documented ReceiverRole and TimeInterval limits
        are enforced first (documented_rules)."""
        documented_rules.enforce("ListInvoiceSummaries", params)
        selector = params["Selector"]
        if selector["ResourceType"] == "INVOICE_ID":
            items = [synthetic.invoice_summary(*self._invoice(account, selector["Value"]))]
        else:
            target = selector["Value"]
            if target not in self._visible_accounts(account):
                raise ResourceNotFoundException(
                    clip(f"Account {target!r} is not visible to account {account}: it is not in its organization")
                )
            items = synthetic.invoice_summaries(target)
        wanted = params.get("Filter") or {}
        items = [item for item in items if synthetic.matches_filter(item, wanted)]
        return self._static_page("ListInvoiceSummaries", account, params, items, "InvoiceSummaries")

    def get_invoice_pdf(self, account: str, params: dict) -> dict:
        """A made-up URL on the reserved .invalid domain, expiring an hour after the request."""
        self._invoice(account, params["InvoiceId"])
        return {"InvoicePDF": synthetic.invoice_pdf(params["InvoiceId"], self.clock.now())}

    def list_procurement_portals(self, account: str, params: dict) -> dict:
        """One portal per value of the model's ProcurementPortalName enum."""
        portals = list(synthetic.procurement_portals())
        return self._static_page("ListProcurementPortals", account, params, portals, "ProcurementPortals")

    def list_procurement_portal_suppliers(self, account: str, params: dict) -> dict:
        """25 made-up suppliers per portal; an unknown portal is ResourceNotFoundException."""
        suppliers = synthetic.portal_suppliers(params["PortalIdentifier"])
        if suppliers is None:
            known = ", ".join(p["PortalIdentifier"] for p in synthetic.procurement_portals())
            raise ResourceNotFoundException(
                clip(f"No procurement portal has the identifier {params['PortalIdentifier']!r}; portals: {known}")
            )
        return self._static_page(
            "ListProcurementPortalSuppliers", account, params, list(suppliers), "ProcurementPortalSuppliers"
        )
