"""The catalogue of plausible-behaviour variants: emulators that answer, where AWS is silent for Invoicing, the
way another real service (or a published idempotency design) answers. None of them is wrong.

The planted-fault catalogue (`invoicing_mock.mutants`) measures what the suite catches; this one measures what it
must NOT call a failure: the suite in its default mode passes on every variant here (0 violations; divergences of
assumed expectations are recorded), while every planted fault stays killed (docs/bases.md gives the figures).

Each variant is `InvoicingBackend` with other behaviour knobs (`invoicing_mock.behaviour`), nothing else, so
`serve --behaviour FILE` with `Variant.knobs` as the file behaves the same. Its knobs differ from the emulator's
own, which is how the suite tells it from "the embedded emulator" (`Behaviour.is_default`): a planted fault keeps
the emulator's knobs and is held to every expectation, a plausible variant stands for another service and is held
to the model, the protocol and the documentation only. Use one as a backend:

    invoicing-contracts run --mock-backend invoicing_mock.plausible:TokenPerAccount
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from invoicing_mock.behaviour import Behaviour
from invoicing_mock.models import InvoicingBackend


@dataclass(frozen=True)
class Variant:
    name: str
    cls: type
    behaves_like: str  # whose answer it gives, and where that is described

    @property
    def spec(self) -> str:
        """The `--mock-backend` value that runs the suite against this variant."""
        return f"{__name__}:{self.name}"

    @property
    def knobs(self) -> dict[str, Any]:
        """The behaviour file `serve --behaviour` takes to behave the same."""
        return self.cls.BEHAVIOUR.to_dict()


CATALOGUE: dict[str, Variant] = {}


def plausible(behaves_like: str, **knobs: Any):
    """Class decorator: the variant's behaviour knobs, and its place in the catalogue (names are unique)."""

    def register(cls: type) -> type:
        if cls.__name__ in CATALOGUE:
            raise ValueError(f"a variant named {cls.__name__} is already in the catalogue")
        cls.BEHAVIOUR = Behaviour.of(knobs)
        CATALOGUE[cls.__name__] = Variant(cls.__name__, cls, behaves_like)
        return cls

    return register


@plausible("a token conflict refused with ValidationException everywhere (a service that does not use its "
           "declared ConflictException for tokens); the suite accepts any declared client error",
           conflict_error={"*": "ValidationException"})
class ConflictAsValidation(InvoicingBackend):
    """A reused token with another payload is refused with ValidationException, also where the operation
    declares ConflictException (the emulator's choice there)."""


@plausible("tokens scoped per account only, not per operation (EC2 scopes its client tokens by account and "
           "region, not by action)", token_scope="account")
class TokenPerAccount(InvoicingBackend):
    """One token answers for every operation of an account: a create's token reused on an update is a
    conflict (another payload), not a new request."""


@plausible("a token window of 8 hours, not 24 (Smithy leaves the window to the service; EC2's 24 h is one "
           "service's choice)", idempotency_window=8 * 3600.0)
class EightHourWindow(InvoicingBackend):
    """Tokens are forgotten after 8 hours."""


@plausible("a refusal is stored under the token and replayed (the IETF Idempotency-Key draft's reading; Stripe "
           "stores 5xx results too)", replay_errors=True)
class ErrorsReplayed(InvoicingBackend):
    """A request refused by validation or by a service rule keeps its token: the same request gets the same
    refusal, another payload with the token is a conflict."""


@plausible("a member of the wrong JSON type answered with the AWS JSON protocol's SerializationException, "
           "as Coral-based JSON services answer a body they cannot deserialise",
           wrong_type_error="SerializationException")
class SerializationErrors(InvoicingBackend):
    """A value of the wrong JSON type (a string for a boolean, a list for a structure) is refused before
    validation, with 400 SerializationException."""


@plausible("members the model does not have are ignored (forward-compatible deserialisers do this; the model "
           "says nothing about unknown members)", unknown_members="ignore")
class UnknownMembersIgnored(InvoicingBackend):
    """An unknown member is dropped, and the rest of the request is handled as if it had never been there."""


@plausible("AccessDeniedException on the preview APIs, as for an account not given access to them (the model "
           "documents them as subject to the Service Terms for Betas and Previews)", access_denied=("preview",))
class PreviewAccessDenied(InvoicingBackend):
    """Every procurement-portal preference operation (the model's preview APIs) answers AccessDeniedException."""


@plausible("timestamps kept in whole seconds (epoch seconds without a fraction, as many services store them)",
           timestamp_resolution=1.0)
class WholeSecondTimestamps(InvoicingBackend):
    """LastModified, CreateDate and the AsOf history are truncated to whole seconds."""


@plausible("the shared secret returned masked by reads (a service confirming a secret is set without showing "
           "it), where the emulator leaves it out", mask_secrets=True)
class MaskedSharedSecret(InvoicingBackend):
    """GetProcurementPortalPreference shows ProcurementPortalSharedSecret as asterisks."""


@plausible("an invoice unit's account lists returned sorted (the documentation calls an invoice unit a set of "
           "accounts: a service may keep them as one)", sort_account_lists=True)
class SortedAccountLists(InvoicingBackend):
    """Rule.LinkedAccounts is stored, and read back, sorted."""
