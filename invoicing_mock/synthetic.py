"""Deterministic, schema-valid data for the read-only operations whose data the emulator cannot own: invoice
profiles, invoice summaries and PDFs, procurement portals and their suppliers.

Same inputs, same outputs. Enum values come from the model. What is simplified:
- every organisation member has twelve monthly invoices, for the billing periods of 2025, issued on the 2nd of
  the following month, due 30 days later; amounts derive from a hash of the account and period;
- an invoice ID is the account ID followed by the billing period (YYYYMM), so it can be resolved back;
- invoice profiles are derived from the account ID; PDF URLs point at the reserved `.invalid` domain and expire
  an hour after the request;
- each portal of the model's `ProcurementPortalName` enum is offered, with 25 suppliers.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import re

from strategies import service_model

INVOICE_YEAR = 2025
SUPPLIERS_PER_PORTAL = 25
_INVOICE_ID = re.compile(r"(\d{12})(\d{4})(\d{2})")


def enum_of(shape_name: str) -> list[str]:
    return list(service_model("invoicing").shape_for(shape_name).enum)


def _digest(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def invoice_profile(account: str) -> dict:
    return {
        "AccountId": account,
        "ReceiverName": f"Receiver-{account}",
        "ReceiverAddress": {
            "AddressLine1": f"{_digest(account, 'street') % 900 + 100} Example Street",
            "City": "Seattle",
            "StateOrRegion": "WA",
            "CountryCode": "US",
            "CompanyName": f"Example Company {account}",
            "PostalCode": f"98{_digest(account, 'zip') % 1000:03d}",
        },
        "ReceiverEmail": f"billing+{account}@example.com",
        "Issuer": "Amazon-Web-Services,-Inc.",
        "TaxRegistrationNumber": f"TRN{_digest(account, 'trn') % 10**9:09d}",
    }


def invoice_id(account: str, year: int, month: int) -> str:
    return f"{account}{year:04d}{month:02d}"


def parse_invoice_id(value: str) -> tuple[str, int, int] | None:
    """(account, year, month) of an invoice this module issues, or None."""
    match = _INVOICE_ID.fullmatch(value)
    if not match:
        return None
    account, year, month = match.group(1), int(match.group(2)), int(match.group(3))
    if year != INVOICE_YEAR or not 1 <= month <= 12:
        return None
    return account, year, month


def _epoch(year: int, month: int, day: int) -> int:
    return calendar.timegm((year, month, day, 0, 0, 0))


def invoice_summary(account: str, year: int, month: int) -> dict:
    issued_year, issued_month = (year + 1, 1) if month == 12 else (year, month + 1)
    issued = _epoch(issued_year, issued_month, 2)
    subtotal = 1000 + _digest(account, year, month) % 500_000
    tax = subtotal * 8 // 100
    amount = {
        "TotalAmount": _money(subtotal + tax),
        "TotalAmountBeforeTax": _money(subtotal),
        "CurrencyCode": "USD",
        "AmountBreakdown": {
            "SubTotalAmount": _money(subtotal),
            "Discounts": {"Breakdown": [], "TotalAmount": "0.00"},
            "Taxes": {
                "Breakdown": [{"Description": "Sales tax", "Amount": _money(tax), "Rate": "0.08"}],
                "TotalAmount": _money(tax),
            },
            "Fees": {"Breakdown": [], "TotalAmount": "0.00"},
        },
        "CurrencyExchangeDetails": {"SourceCurrencyCode": "USD", "TargetCurrencyCode": "USD", "Rate": "1"},
    }
    return {
        "AccountId": account,
        "InvoiceId": invoice_id(account, year, month),
        "IssuedDate": issued,
        "DueDate": issued + 30 * 86400,
        "BillSourceAccounts": [],
        "BillSourceAccountsTotalCount": 0,
        "ReceiverRole": enum_of("ReceiverRole")[-1],
        "Entity": {"InvoicingEntity": "Amazon Web Services, Inc.", "BillingEntity": enum_of("BillingEntity")[0]},
        "BillingPeriod": {"Month": month, "Year": year},
        "InvoiceFrequency": enum_of("InvoiceFrequency")[-1],
        "BillType": enum_of("BillType")[0],
        "InvoiceType": enum_of("InvoiceType")[0],
        "EinvoiceDeliveryStatus": enum_of("EinvoiceDeliveryStatus")[1],
        "BaseCurrencyAmount": amount,
        "PaymentCurrencyAmount": amount,
    }


def invoice_summaries(account: str) -> list[dict]:
    return [invoice_summary(account, INVOICE_YEAR, month) for month in range(1, 13)]


def matches_filter(summary: dict, filter_: dict) -> bool:
    """InvoiceSummariesFilter: every given criterion must hold. TimeInterval bounds IssuedDate as the model's
    DateInterval documents it: "The start date is inclusive", "The end date is exclusive"."""
    interval = filter_.get("TimeInterval")
    if interval and not interval["StartDate"] <= summary["IssuedDate"] < interval["EndDate"]:
        return False
    period = filter_.get("BillingPeriod")
    if period and (period["Month"], period["Year"]) != (
        summary["BillingPeriod"]["Month"],
        summary["BillingPeriod"]["Year"],
    ):
        return False
    entity = filter_.get("InvoicingEntity")
    if entity is not None and entity != summary["Entity"]["InvoicingEntity"]:
        return False
    role = filter_.get("ReceiverRole")
    return role is None or role == summary["ReceiverRole"]


def invoice_pdf(invoice: str, now: float) -> dict:
    expires = int(now) + 3600
    return {
        "InvoiceId": invoice,
        "DocumentUrl": f"https://invoices.invoicing-emulator.invalid/{invoice}.pdf?expires={expires}",
        "DocumentUrlExpirationDate": expires,
        "SupplementalDocuments": [
            {
                "DocumentType": enum_of("SupplementalDocumentType")[-1],
                "DocumentId": f"{invoice}-S1",
                "DocumentUrl": f"https://invoices.invoicing-emulator.invalid/{invoice}-S1.pdf?expires={expires}",
                "DocumentUrlExpirationDate": expires,
            }
        ],
    }


@functools.lru_cache(maxsize=None)
def procurement_portals() -> tuple[dict, ...]:
    return tuple(
        {
            "PortalIdentifier": name.lower().replace("_", "-"),
            "PortalName": name,
            "PortalDisplayName": name.replace("_", " ").title(),
            "DefaultFeatureConfigurations": {
                "InvoiceConfiguration": {
                    "DocumentTypes": enum_of("EinvoiceDeliveryDocumentType"),
                    "AttachmentTypes": enum_of("EinvoiceDeliveryAttachmentType"),
                }
            },
        }
        for name in enum_of("ProcurementPortalName")
    )


@functools.lru_cache(maxsize=None)
def portal_suppliers(portal_identifier: str) -> tuple[dict, ...] | None:
    """The suppliers of a portal, or None when no portal has that identifier."""
    if portal_identifier not in {p["PortalIdentifier"] for p in procurement_portals()}:
        return None
    countries = ["US", "LU", "JP", "IN", "BR"]
    sellers = ["AWS-Inc", "AWS-EMEA-SARL", "AWS-Japan-GK", "AWS-India", "AWS-Brazil"]
    environments = enum_of("ProcurementPortalEnv")
    prefix = portal_identifier.upper().replace("-", "")[:6]
    return tuple(
        {
            "SupplierIdentifier": f"{prefix}{i:06d}",
            "SellerOfRecord": sellers[i % len(sellers)],
            "CountryCode": countries[i % len(countries)],
            "Environment": environments[i % len(environments)],
        }
        for i in range(1, SUPPLIERS_PER_PORTAL + 1)
    )
