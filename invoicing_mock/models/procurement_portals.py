"""Procurement portal preferences: one mixin of the backend (`ProcurementPortalsMixin`), with the validation flow
(SendProcurementPortalValidation issues a code, VerifyProcurementPortalValidation spends it).

Rules (per account; the model states the shapes, the Billing user guide the rest):
  a second preference for the same portal, buyer and supplier identifiers -> ConflictException
  at most 100 per account (an emulator choice; AWS documents none)      -> ServiceQuotaExceededException
  Create: Version 1; each enabled feature (e-invoice delivery, PO retrieval) starts PENDING_VERIFICATION.
  Put: replaces every member Put carries (omitted optional members are cleared); Version + 1; enabled
    features go back to PENDING_VERIFICATION (a changed configuration must be validated again).
  UpdateProcurementPortalPreferenceStatus: sets the given statuses and reasons; Version + 1.
  SendProcurementPortalValidation: issues a code (see `validation_code`); no Version change.
  VerifyProcurementPortalValidation: the pending code moves PENDING_VERIFICATION features to VALIDATED;
    Version + 1. No pending code, or a different one -> ValidationException reason invalidInput.
  The shared secret is stored and never returned.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from typing import Any

from invoicing_mock.behaviour import mask
from invoicing_mock.exceptions import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationException,
)
from invoicing_mock.models import documented_rules
from invoicing_mock.models.base import MODEL, BackendBase, clip

_STATUSES = set(MODEL.shape_for("ProcurementPortalPreferenceStatus").enum)
PENDING, VALIDATED = "PENDING_VERIFICATION", "VALIDATED"
assert {PENDING, VALIDATED} <= _STATUSES, f"the model's preference statuses changed: {sorted(_STATUSES)}"

# The two features a preference can enable, and the members that carry their switch and status.
_FEATURES = (
    ("EinvoiceDeliveryEnabled", "EinvoiceDeliveryPreferenceStatus", "EinvoiceDeliveryPreferenceStatusReason"),
    (
        "PurchaseOrderRetrievalEnabled",
        "PurchaseOrderRetrievalPreferenceStatus",
        "PurchaseOrderRetrievalPreferenceStatusReason",
    ),
)


def _members(shape_name: str) -> tuple[str, ...]:
    return tuple(MODEL.shape_for(shape_name).members)


def validation_code(arn: str, sends: int) -> str:
    """The code SendProcurementPortalValidation issues for the `sends`-th send of a preference (1-based).

    Deterministic, so a test against an emulator it cannot reach into (the HTTP server) can compute it.
    """
    return hashlib.sha256(f"{arn}#{sends}".encode()).hexdigest()[:8].upper()


_CREATE_MEMBERS = _members("CreateProcurementPortalPreferenceRequest")
_PUT_MEMBERS = _members("PutProcurementPortalPreferenceRequest")
# What Put cannot change: the identity of the preference (Create members Put does not carry).
_IMMUTABLE = tuple(m for m in _CREATE_MEMBERS if m not in _PUT_MEMBERS and m not in ("ResourceTags",))
_NOT_CONFIG = {"ClientToken", "ResourceTags", "ProcurementPortalPreferenceArn", "ProcurementPortalSharedSecret"}
_VIEW_MEMBERS = _members("ProcurementPortalPreference")
_SUMMARY_MEMBERS = _members("ProcurementPortalPreferenceSummary")


@dataclass
class Preference:
    """One stored preference: its configuration (secrets apart), feature statuses, version and pending code."""

    seq: int
    arn: str
    account: str
    config: dict[str, Any]
    created: float
    updated: float
    version: int = 1
    status: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    pending_code: str | None = None
    sends: int = 0

    def configure(self, params: dict[str, Any], when: float, *, keep: dict[str, Any] | None = None) -> None:
        """Take every configuration member of `params` (replacing the old ones), keeping `keep`."""
        config = dict(keep or {})
        secrets = {}
        for name, value in params.items():
            if name == "ProcurementPortalSharedSecret":
                secrets["main"] = value
            elif name not in _NOT_CONFIG:
                config[name] = copy.deepcopy(value)
        test_env = config.get("TestEnvPreference")
        if test_env and "ProcurementPortalSharedSecret" in test_env:
            secrets["test"] = test_env.pop("ProcurementPortalSharedSecret")
        self.config, self.secrets = config, secrets
        # Every enabled feature must be validated (again); a disabled feature has no status.
        self.status = {}
        for enabled, status, _reason in _FEATURES:
            if config.get(enabled):
                self.status[status] = PENDING
        self.pending_code = None
        self.updated = when

    def view(self) -> dict[str, Any]:
        data = {
            "AwsAccountId": self.account,
            "ProcurementPortalPreferenceArn": self.arn,
            **copy.deepcopy(self.config),
            **self.status,
            "Version": self.version,
            "CreateDate": self.created,
            "LastUpdateDate": self.updated,
        }
        if self.config.get("PurchaseOrderRetrievalEnabled"):
            endpoint = f"https://po.invoicing-emulator.invalid/{self.arn.rsplit('/', 1)[1]}"
            data["PurchaseOrderRetrievalEndpoint"] = endpoint
            if "TestEnvPreference" in data:
                data["TestEnvPreference"]["PurchaseOrderRetrievalEndpoint"] = endpoint + "/test"
        return {name: data[name] for name in _VIEW_MEMBERS if name in data}

    def summary(self) -> dict[str, Any]:
        view = self.view()
        return {name: view[name] for name in _SUMMARY_MEMBERS if name in view}


class ProcurementPortalsMixin(BackendBase):
    """The procurement portal preference operations, per account, in creation order."""

    def _reset_state(self) -> None:
        super()._reset_state()
        self._preferences: dict[str, dict[str, Preference]] = {}
        self._next_seq = 0

    def _is_live(self, account: str, arn: str) -> bool:
        return arn in self._preferences.get(account, {}) or super()._is_live(account, arn)

    def stored_preference(self, account: str, arn: str) -> Preference:
        """The stored preference itself (not a copy: the operations change it in place), or
        ResourceNotFoundException when `account` has none with that ARN."""
        preference = self._preferences.get(account, {}).get(arn)
        if preference is None:
            raise ResourceNotFoundException(
                clip(f"Procurement portal preference {arn} does not exist in account {account}"),
                resource_name=arn if len(arn) <= 256 else None,
            )
        return preference

    def pending_validation_code(self, account: str, arn: str) -> str | None:
        """The code the last SendProcurementPortalValidation issued for a preference (tests read it here)."""
        with self.lock:
            preference = self._preferences.get(account, {}).get(arn)
            return preference.pending_code if preference else None

    def create_procurement_portal_preference(self, account: str, params: dict) -> dict:
        """Simplified: nothing is sent to the portal; endpoints are stored, never called. The model's documented
        rules (HTTPS endpoint, punch-out for Coupa, redirect host) are enforced first: documented_rules."""
        documented_rules.enforce("CreateProcurementPortalPreference", params)
        preferences = self._preferences.setdefault(account, {})
        identity = tuple(params.get(name) for name in _IMMUTABLE)
        for existing in preferences.values():
            if tuple(existing.config.get(name) for name in _IMMUTABLE) == identity:
                raise ConflictException(
                    f"A procurement portal preference for this portal, buyer and supplier already exists: "
                    f"{existing.arn}",
                    resource_id=existing.arn,
                    resource_type="ProcurementPortalPreference",
                )
        if len(preferences) >= self.limits.preferences_per_account:
            raise ServiceQuotaExceededException(
                f"Account {account} already has {len(preferences)} procurement portal preferences, the maximum"
            )
        self._next_seq += 1
        arn = f"arn:aws:invoicing::{account}:procurement-portal-preference/{self.new_id(32)}"
        now = self._now()
        preference = Preference(self._next_seq, arn, account, {}, created=now, updated=now)
        preference.configure(params, now)
        preferences[arn] = preference
        self._start_tags(arn, params)
        return {"ProcurementPortalPreferenceArn": arn}

    def get_procurement_portal_preference(self, account: str, params: dict) -> dict:
        """Everything stored except the shared secrets; PurchaseOrderRetrievalEndpoint is made up by the
        emulator when PO retrieval is enabled."""
        preference = self.stored_preference(account, params["ProcurementPortalPreferenceArn"])
        view = preference.view()
        if self.behaviour.mask_secrets and preference.secrets.get("main"):
            # behaviour.mask_secrets: as a service that shows a secret is set without showing it.
            view["ProcurementPortalSharedSecret"] = mask(preference.secrets["main"])
        return {"ProcurementPortalPreference": view}

    def put_procurement_portal_preference(self, account: str, params: dict) -> dict:
        """Put semantics: the members given replace the configuration, omitted optional ones are cleared;
        portal, buyer and supplier stay. Version + 1; enabled features return to PENDING_VERIFICATION."""
        preference = self.stored_preference(account, params["ProcurementPortalPreferenceArn"])
        documented_rules.enforce("PutProcurementPortalPreference", params,
                                 portal=preference.config.get("ProcurementPortalName"))
        identity = {name: preference.config[name] for name in _IMMUTABLE if name in preference.config}
        preference.configure(params, self._now(), keep=identity)
        preference.version += 1
        return {"ProcurementPortalPreferenceArn": preference.arn}

    def update_procurement_portal_preference_status(self, account: str, params: dict) -> dict:
        """Any status of the model's enum is accepted for either feature (AWS documents no transitions)."""
        preference = self.stored_preference(account, params["ProcurementPortalPreferenceArn"])
        for _enabled, status, reason in _FEATURES:
            for name in (status, reason):
                if name in params:
                    preference.status[name] = params[name]
        preference.version += 1
        preference.updated = self._now()
        return {"ProcurementPortalPreferenceArn": preference.arn}

    def delete_procurement_portal_preference(self, account: str, params: dict) -> dict:
        """Gone at once, tags included (no history is kept for preferences)."""
        preference = self.stored_preference(account, params["ProcurementPortalPreferenceArn"])
        del self._preferences[account][preference.arn]
        self._drop_tags(preference.arn)
        return {"ProcurementPortalPreferenceArn": preference.arn}

    def list_procurement_portal_preferences(self, account: str, params: dict) -> dict:
        """Creation order; each item carries the members of the model's summary shape."""
        default_max = MODEL.shape_for("MaxResults").metadata["max"]
        after, size, scope = self._page("ListProcurementPortalPreferences", account, params, default_max)
        chosen = [p for p in self._preferences.get(account, {}).values() if p.seq > (after or 0)]
        result: dict[str, Any] = {"ProcurementPortalPreferences": [p.summary() for p in chosen[:size]]}
        if len(chosen) > size:
            result["NextToken"] = self.page_tokens.issue(
                "ListProcurementPortalPreferences", account, scope, chosen[size - 1].seq
            )
        return result

    def send_procurement_portal_validation(self, account: str, params: dict) -> dict:
        """Simplified: the code is not sent anywhere; read it with `pending_validation_code` or compute it
        with `validation_code(arn, sends)`. A new send replaces the pending code."""
        preference = self.stored_preference(account, params["ProcurementPortalPreferenceArn"])
        preference.sends += 1
        preference.pending_code = validation_code(preference.arn, preference.sends)
        return {"ProcurementPortalPreferenceArn": preference.arn}

    def verify_procurement_portal_validation(self, account: str, params: dict) -> dict:
        """The pending code moves PENDING_VERIFICATION features to VALIDATED and is spent; Version + 1."""
        preference = self.stored_preference(account, params["ProcurementPortalPreferenceArn"])
        if preference.pending_code is None:
            raise ValidationException(
                f"No validation is pending for {preference.arn}; call SendProcurementPortalValidation first",
                reason="invalidInput",
                field_list=[{"name": "Code", "message": "no validation code is pending"}],
            )
        if params["Code"] != preference.pending_code:
            raise ValidationException(
                "Code does not match the code last sent for this preference; use the code the latest "
                "SendProcurementPortalValidation issued",
                reason="invalidInput",
                field_list=[{"name": "Code", "message": "does not match the code sent"}],
            )
        preference.pending_code = None
        for _enabled, status, _reason in _FEATURES:
            if preference.status.get(status) == PENDING:
                preference.status[status] = VALIDATED
        preference.version += 1
        preference.updated = self._now()
        return {"ProcurementPortalPreferenceArn": preference.arn}
