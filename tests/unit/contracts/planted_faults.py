"""Emulator variants with one planted fault each, for proving the suite catches them (`--mock-backend`).

Each is a small subclass of the correct emulator overriding one hook of its request path
(invoicing_mock.faults describes the seams). Used by test_runner.py through
`invoicing-contracts run --mock-backend planted_faults:<Name>` with this directory on PYTHONPATH.
"""

from __future__ import annotations

import copy

from invoicing_mock.exceptions import ConflictException
from invoicing_mock.models import InvoicingBackend


class FreshArnOnReplay(InvoicingBackend):
    """(a) A replay runs the operation again instead of returning the stored result: a create replayed with
    its token makes a second resource and answers with a fresh ARN."""

    def _replay(self, call, recorded):
        return self._operations[call.operation](call.account, call.params)


class ConflictAccepted(InvoicingBackend):
    """(b) A reused token answers with the stored result whatever the payload: a conflicting request is
    accepted (and silently ignored) instead of refused."""

    def _serve(self, call):
        member = self._token_members[call.operation]
        token = call.params.get(member) if member else None
        if token is not None:
            with self.lock:
                recorded = self.tokens.lookup(call.account, call.operation, token)
                if recorded is not None:
                    return copy.deepcopy(recorded.result)
        return super()._serve(call)


class UndeclaredConflictError(InvoicingBackend):
    """(c) Every token conflict is answered with ConflictException, also by operations that do not declare it
    (CreateInvoiceUnit, UpdateInvoiceUnit, DeleteInvoiceUnit, Send/VerifyProcurementPortalValidation)."""

    def _token_conflict(self, call, member, token):
        return ConflictException(f"{member} was already used with a different request", resource_type=member)


class FreshArnOnReplayRecordingSecrets(FreshArnOnReplay):
    """(a), and it writes every sensitive value it receives to $PLANTED_SECRETS_LOG (outside the run's report
    and database directories), so a test can prove which secrets went over the wire."""

    def handle(self, call):
        import json
        import os

        from contracts.redaction import sensitive_member_names

        found: list[str] = []

        def walk(value, inside):
            if isinstance(value, dict):
                for key, item in value.items():
                    walk(item, inside or key in sensitive_member_names())
            elif isinstance(value, list):
                for item in value:
                    walk(item, inside)
            elif inside and isinstance(value, str):
                found.append(value)

        walk(call.params, False)
        path = os.environ.get("PLANTED_SECRETS_LOG")
        if path and found:
            seen = set(json.loads(open(path).read())) if os.path.exists(path) else set()
            with open(path, "w") as out:
                json.dump(sorted(seen | set(found)), out)
        return super().handle(call)
