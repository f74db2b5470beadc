"""Opaque, signed NextTokens.

A token carries the operation, the caller's account, a digest of the request's filters, a position and the time
it was issued, signed with a per-backend secret. Reading one back refuses, with the model's
ValidationException reasons:
- `invalidNextToken`: not a token this backend issued (undecodable, bad signature), or issued for another
  operation, another account or other filters than the request now carries;
- `expiredNextToken`: issued longer ago than the backend's page-token lifetime (default one hour).
A token from an earlier emulator process is invalid, as its secret is gone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any

from invoicing_mock.exceptions import ValidationException

DEFAULT_TTL_SECONDS = 60 * 60


def scope_of(params: dict[str, Any], *, exclude=("NextToken", "MaxResults")) -> str:
    """What must stay the same between pages: every request member except the token and the page size."""
    kept = {name: value for name, value in params.items() if name not in exclude}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


class PageTokens:
    def __init__(self, clock, ttl_seconds: float = DEFAULT_TTL_SECONDS, secret: bytes | None = None):
        self.clock = clock
        self.ttl_seconds = ttl_seconds
        self._secret = secret or secrets.token_bytes(32)

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()[:24]

    def issue(self, operation: str, account: str, scope: str, position: Any) -> str:
        payload = json.dumps([operation, account, scope, position, self.clock.now()], separators=(",", ":"))
        encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        return f"{encoded}.{self._sign(payload.encode())}"

    def read(self, token: str, operation: str, account: str, scope: str) -> Any:
        """The position the token points at; ValidationException when it is invalid or expired."""
        try:
            encoded, signature = token.rsplit(".", 1)
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            valid = hmac.compare_digest(signature, self._sign(payload))
            issued_for, issued_account, issued_scope, position, issued_at = json.loads(payload)
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            valid = False
        if not valid:
            raise _invalid("NextToken was not issued by this service; start again without a NextToken")
        if issued_for != operation:
            raise _invalid(f"NextToken was issued by {issued_for}, not {operation}; start again without it")
        if issued_account != account or issued_scope != scope:
            raise _invalid(
                "NextToken was issued for a request with other parameters; repeat the first request's "
                "parameters (only MaxResults may change) or start again without a NextToken"
            )
        age = self.clock.now() - issued_at
        if age > self.ttl_seconds:
            raise ValidationException(
                f"NextToken expired: it was issued {int(age)} seconds ago and lives {int(self.ttl_seconds)} "
                f"seconds; start again without a NextToken",
                reason="expiredNextToken",
                field_list=[{"name": "NextToken", "message": "expired"}],
            )
        return position


def _invalid(message: str) -> ValidationException:
    return ValidationException(
        message, reason="invalidNextToken", field_list=[{"name": "NextToken", "message": "invalid"}]
    )
