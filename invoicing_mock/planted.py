"""Emulator variants with one planted exactly-once fault each, to prove the fault suite catches them.

Use them as a backend: `invoicing-contracts run --mock-backend invoicing_mock.planted:RacyTokenCheck`, or
`pytest --pyargs contracts.suite --mock-backend invoicing_mock.planted:RetryExecutesTwice`. Each overrides public
hooks of the request path (see `invoicing_mock.models.base`). Both are part of the catalogue of
`invoicing_mock.mutants`, with the replay and conflict faults.
"""

from __future__ import annotations

from invoicing_mock.models import InvoicingBackend


class RetryExecutesTwice(InvoicingBackend):
    """A retried request executes twice: the token is stored only once the response has been sent, so when the
    response is lost (docs/idempotency.md property 7) the record is lost with it, and the SDK's retry, carrying the
    same token, runs the request again: a second resource, a second Version increment, or a refusal of the
    retry (the name is taken, the resource is gone)."""

    def remember_token(self, call, token, digest, result):
        call.unsent_record = (token, digest, result)  # stored by handle() once the response is on its way

    def handle(self, call):
        result = super().handle(call)  # a lost response (DropResponse) leaves here: its record goes with it
        pending = getattr(call, "unsent_record", None)
        if pending is not None:
            with self.token_lock:
                super().remember_token(call, *pending)
        return result


class RacyTokenCheck(InvoicingBackend):
    """The token check is not atomic with the store: the look-up and the record are separate steps with nothing
    held between them (no in-flight marker), so concurrent requests with one token all pass the check before
    the first one stores it, and each executes (docs/idempotency.md property 8)."""

    def claim_token(self, call, member, token, digest):
        return None


#: The variants, by name (the suite's tests and `run` iterate over them).
VARIANTS = {cls.__name__: cls for cls in (RetryExecutesTwice, RacyTokenCheck)}
