"""Rules of valid requests that the model's documentation strings state (AWS's API reference text for Invoicing)
and the emulator enforces, each with its source (`Shape.Member`) and the sentence quoted exactly. `check_sources`
(run once by `rules_broken`) fails loudly when the installed model no longer says a quoted sentence, rather than
the emulator enforcing a rule AWS dropped.

Where the sentence leaves a detail open, the emulator's reading is marked SIMPLIFICATION (the emulator's own
choice, not AWS's). Every refusal is ValidationException, reason `invalidInput`, its fieldList naming the member
and quoting the rule. The suite predicts the same refusals from its own reading (contracts/engine/oracle.py,
`documented_refusals`), written independently of this module.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from invoicing_mock.exceptions import ValidationException
from invoicing_mock.models.base import MODEL, clip


@dataclass(frozen=True)
class Documented:
    source: str  # Shape.Member in the installed model
    quote: str  # exactly as the documentation string says it (tags removed, spaces collapsed)


RECEIVER_ROLE_FROM = Documented("InvoiceSummariesFilter.ReceiverRole",
                                "Data is available starting 2025-06-01 . Queries for periods before 2025-06-01 "
                                "return a validation error.")
RECEIVER_ROLE_SPAN = Documented("InvoiceSummariesFilter.ReceiverRole",
                                "TimeInterval supports a time interval of up to 5 years.")
NO_ROLE_SPAN = Documented("InvoiceSummariesFilter.ReceiverRole",
                          "Without ReceiverRole , TimeInterval is limited to one month.")
HTTPS = {op: Documented(f"{op}Request.ProcurementPortalInstanceEndpoint", "Must be a valid HTTPS URL.")
         for op in ("CreateProcurementPortalPreference", "PutProcurementPortalPreference")}
PUNCH_OUT_COUPA_ONLY = Documented("MarketplacePunchOutPreference.ApprovalRequestRedirectUrl",
                                  "This is only supported for Coupa.")
PUNCH_OUT_HOST = Documented("MarketplacePunchOutPreference.ApprovalRequestRedirectUrl",
                            "When provided together with the procurement portal instance endpoint, its host must "
                            "match the host of that endpoint.")
PUNCH_OUT_REQUIRED = {
    "CreateProcurementPortalPreference": Documented(
        "CreateProcurementPortalPreferenceRequest.MarketplacePunchOutPreference",
        "Required for Coupa when MarketplacePunchOutEnabled is true."),
    "PutProcurementPortalPreference": Documented(
        "PutProcurementPortalPreferenceRequest.MarketplacePunchOutPreference",
        "Required when MarketplacePunchOutEnabled is true."),
}
ALL = (RECEIVER_ROLE_FROM, RECEIVER_ROLE_SPAN, NO_ROLE_SPAN, *HTTPS.values(), PUNCH_OUT_COUPA_ONLY, PUNCH_OUT_HOST,
       *PUNCH_OUT_REQUIRED.values())

DATA_FROM = dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)
COUPA = "COUPA"


def _plain(html: str | None) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html or "")).strip()


@functools.lru_cache(maxsize=1)
def check_sources() -> None:
    """Every quoted sentence is in the installed model's documentation of its source (ValueError otherwise)."""
    for rule in ALL:
        shape, _, member = rule.source.partition(".")
        found = MODEL.shape_for(shape)
        text = _plain(found.members[member].documentation if member else found.documentation)
        if rule.quote not in text:
            raise ValueError(f"invoicing_mock.models.documented_rules: the model's documentation of {rule.source} "
                             f"no longer says {rule.quote!r}; update or remove the rule")


def instant(value: Any) -> dt.datetime:
    """A timestamp as the wire gives it (epoch seconds; an ISO 8601 string) or as Python holds it."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return instant(dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    try:
        return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    except (OverflowError, OSError, ValueError):  # beyond what datetime holds: the far past or future
        return (dt.datetime.min if seconds < 0 else dt.datetime.max).replace(tzinfo=dt.timezone.utc)


def add_months(when: dt.datetime, months: int) -> dt.datetime:
    """The same day `months` later, clamped to the month's last day (31 January + 1 month = 28/29 February)."""
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    if year > dt.MAXYEAR:
        return dt.datetime.max.replace(tzinfo=when.tzinfo)
    return when.replace(year=year, month=month, day=min(when.day, calendar.monthrange(year, month)[1]))


def host(url: Any) -> str | None:
    try:
        return urlsplit(str(url)).hostname
    except ValueError:
        return None


def https_url(url: Any) -> bool:
    """SIMPLIFICATION: "a valid HTTPS URL" read as scheme https with a host (nothing else about it is checked)."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return False
    return parts.scheme.lower() == "https" and bool(parts.hostname)


def rules_broken(operation: str, params: dict, portal: str | None = None) -> list[tuple[Documented, str, str]]:
    """The documented rules `params` breaks, as (rule, member path, what is wrong); `portal` is the stored
    preference's ProcurementPortalName for Put (which does not carry it)."""
    check_sources()
    if operation == "ListInvoiceSummaries":
        return _summaries(params.get("Filter") or {})
    if operation in HTTPS:
        return _preference(operation, params, params.get("ProcurementPortalName", portal))
    return []


def _summaries(filter_: dict) -> list[tuple[Documented, str, str]]:
    out = []
    interval = filter_.get("TimeInterval")
    start = instant(interval["StartDate"]) if interval else None
    end = instant(interval["EndDate"]) if interval else None
    if filter_.get("ReceiverRole") is not None:
        # SIMPLIFICATION: "periods before 2025-06-01" read as a TimeInterval starting, or a BillingPeriod,
        # before June 2025; "up to 5 years" as an EndDate no later than the same day five years on.
        if start is not None and start < DATA_FROM:
            out.append((RECEIVER_ROLE_FROM, "Filter.TimeInterval.StartDate", f"starts {start:%Y-%m-%d}"))
        period = filter_.get("BillingPeriod")
        if period and (period["Year"], period["Month"]) < (DATA_FROM.year, DATA_FROM.month):
            out.append((RECEIVER_ROLE_FROM, "Filter.BillingPeriod", f"is {period['Year']}-{period['Month']:02d}"))
        if start is not None and end > add_months(start, 60):
            out.append((RECEIVER_ROLE_SPAN, "Filter.TimeInterval", f"spans {start:%Y-%m-%d} to {end:%Y-%m-%d}"))
    elif start is not None and end > add_months(start, 1):
        # SIMPLIFICATION: "limited to one month" read as an EndDate (exclusive) no later than the same day of the
        # next month.
        out.append((NO_ROLE_SPAN, "Filter.TimeInterval", f"spans {start:%Y-%m-%d} to {end:%Y-%m-%d}"))
    return out


def _preference(operation: str, params: dict, portal: str | None) -> list[tuple[Documented, str, str]]:
    out = []
    endpoint = params.get("ProcurementPortalInstanceEndpoint")
    if endpoint is not None and not https_url(endpoint):
        out.append((HTTPS[operation], "ProcurementPortalInstanceEndpoint", "is not an HTTPS URL"))
    punch_out = params.get("MarketplacePunchOutPreference")
    redirect = (punch_out or {}).get("ApprovalRequestRedirectUrl")
    if redirect is not None and portal != COUPA:
        out.append((PUNCH_OUT_COUPA_ONLY, "MarketplacePunchOutPreference.ApprovalRequestRedirectUrl",
                    f"is given for the portal {portal}"))
    if redirect is not None and endpoint is not None and host(redirect) != host(endpoint):
        out.append((PUNCH_OUT_HOST, "MarketplacePunchOutPreference.ApprovalRequestRedirectUrl",
                    "has another host than ProcurementPortalInstanceEndpoint"))
    needs = operation == "PutProcurementPortalPreference" or portal == COUPA
    if params.get("MarketplacePunchOutEnabled") is True and punch_out is None and needs:
        out.append((PUNCH_OUT_REQUIRED[operation], "MarketplacePunchOutPreference",
                    "is missing while MarketplacePunchOutEnabled is true"))
    return out


def enforce(operation: str, params: dict, portal: str | None = None) -> None:
    """ValidationException (reason invalidInput) for the documented rules `params` breaks, each quoted."""
    broken = rules_broken(operation, params, portal)
    if broken:
        raise ValidationException(
            clip("; ".join(f"{path} {what}: \"{rule.quote}\" ({rule.source})" for rule, path, what in broken)),
            reason="invalidInput",
            field_list=[{"name": path, "message": clip(rule.quote)} for rule, path, _ in broken],
        )
