"""Behaviour knobs: where AWS is silent, how the emulator answers (docs/bases.md, "The emulator as a baseline").

The defaults are the emulator's own choices (docs/idempotency.md). A team that recorded how its account answers
sets the knobs to match and replays that in CI without credentials:

    mock_invoicing(behaviour=Behaviour(token_scope="account"))
    mock_invoicing(behaviour={"conflict_error": {"*": "ValidationException"}})
    invoicing-contracts serve --behaviour behaviour.json

The file is a JSON object with any of these keys (unknown keys and bad values are refused with what to write):

    payload_comparison   "semantic" (default): payloads the model or the documentation make equal are one
                         request (invoicing_mock.equivalence: omitted vs an explicit default of a non-boxed
                         member, an invoice unit's accounts in any order); "bytes": any difference is a conflict
    conflict_error       {"<Operation>" or "*": "<error>"}: the error refusing a token reused with another payload;
                         a client error the operation declares (default ConflictException where declared, else
                         ValidationException)
    token_scope          "operation" (default): a token is (account, operation, token); "account": one token
                         answers for every operation of the account
    idempotency_window   seconds a token is remembered (default: the backend's, 86400)
    replay_errors        false (default): a refused request leaves its token unused; true: its refusal is stored
                         and replayed (the IETF draft's reading)
    wrong_type_error     "ValidationException" (default) or "SerializationException": the answer to a member of
                         the wrong JSON type
    unknown_members      "refuse" (default) or "ignore": a member the model does not have
    access_denied        operation names, or "preview" (every operation whose documentation says it is a preview
                         API): answered AccessDeniedException, as an account without access would be
    timestamp_resolution seconds timestamps are truncated to (default 0: as the clock gives them; 1: whole seconds)
    mask_secrets         false (default: the shared secret is never returned); true: reads return it masked
    sort_account_lists   false (default: as sent); true: an invoice unit's account lists are stored sorted

`Behaviour.is_default` says whether the emulator behaves as itself (the suite's "embedded emulator": every
expectation binds) or stands for another service (assumed expectations are observed; docs/bases.md).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from strategies import botocore_session, service_model, token_members

COMPARISONS = ("semantic", "bytes")
SCOPES = ("operation", "account")
WRONG_TYPE_ERRORS = ("ValidationException", "SerializationException")
UNKNOWN_MEMBERS = ("refuse", "ignore")
#: The model's words for a preview API (in the operation's documentation string).
PREVIEW_WORDS = "Betas and Previews"


class BehaviourError(ValueError):
    """A behaviour knob with a value the emulator cannot take; the message says what to write."""


def preview_operations() -> tuple[str, ...]:
    """Operations whose model documentation says they are a preview ("... Service Terms (Betas and Previews)")."""
    model = service_model("invoicing")
    return tuple(op for op in model.operation_names if PREVIEW_WORDS in (model.operation_model(op).documentation or ""))


def client_errors(operation: str) -> frozenset[str]:
    """The client errors an operation declares (error shapes the model does not mark as the server's fault)."""
    raw = botocore_session().get_service_data("invoicing")
    return frozenset(shape.name for shape in service_model("invoicing").operation_model(operation).error_shapes
                     if not raw["shapes"][shape.name].get("fault"))


def conflict_answers(operation: str) -> frozenset[str]:
    """The errors that can refuse a token conflict: the declared client errors but ThrottlingException, which
    says 'later', not 'refused' (the suite's contracts/packs/bases.json says the same)."""
    return client_errors(operation) - {"ThrottlingException"}


@dataclass(frozen=True)
class Behaviour:
    # Semantic, as the suite judges (contracts.packs.contract `equivalent`: its conflict rule sends no payload
    # the model or the documentation make equal to the first); "bytes" is the stricter reading, kept as a knob.
    payload_comparison: str = "semantic"
    conflict_error: Mapping[str, str] = field(default_factory=dict)
    token_scope: str = "operation"
    idempotency_window: float | None = None
    replay_errors: bool = False
    wrong_type_error: str = "ValidationException"
    unknown_members: str = "refuse"
    access_denied: tuple[str, ...] = ()
    timestamp_resolution: float = 0.0
    mask_secrets: bool = False
    sort_account_lists: bool = False

    def __post_init__(self) -> None:
        problems = []
        for name, allowed in (("payload_comparison", COMPARISONS), ("token_scope", SCOPES),
                              ("wrong_type_error", WRONG_TYPE_ERRORS), ("unknown_members", UNKNOWN_MEMBERS)):
            if getattr(self, name) not in allowed:
                problems.append(f"{name}: {getattr(self, name)!r} is not one of {', '.join(allowed)}")
        model = service_model("invoicing")
        if not isinstance(self.conflict_error, Mapping):
            problems.append('conflict_error: write {"<Operation>" or "*": "<error>"}')
        else:
            tokened = [op for op in model.operation_names if token_members(op)]
            for op, code in self.conflict_error.items():
                for each in (tokened if op == "*" else [op]):
                    if each not in tokened:
                        problems.append(f"conflict_error.{op}: not an operation with an idempotency token "
                                        f"({', '.join(tokened)})")
                    elif code not in conflict_answers(each):
                        problems.append(f"conflict_error.{op}: {code!r} is not a client error {each} declares "
                                        f"that refuses ({', '.join(sorted(conflict_answers(each)))})")
        names = list(model.operation_names)
        expanded = []
        for op in self.access_denied:
            if op == "preview":
                expanded += preview_operations()
            elif op in names:
                expanded.append(op)
            else:
                problems.append(f"access_denied: {op!r} is neither an operation of the model nor \"preview\"")
        object.__setattr__(self, "access_denied", tuple(dict.fromkeys(expanded)))
        object.__setattr__(self, "conflict_error", dict(self.conflict_error) if isinstance(
            self.conflict_error, Mapping) else {})
        if self.idempotency_window is not None and not self.idempotency_window > 0:
            problems.append(f"idempotency_window: {self.idempotency_window!r} must be a number of seconds above 0")
        if not self.timestamp_resolution >= 0:
            problems.append(f"timestamp_resolution: {self.timestamp_resolution!r} must be 0 or more seconds")
        if problems:
            raise BehaviourError("behaviour: " + "; ".join(problems))

    @property
    def is_default(self) -> bool:
        """The emulator's own behaviour (how it compares payloads aside: both comparisons are its own)."""
        return dataclasses.replace(self, payload_comparison=Behaviour.payload_comparison) == Behaviour()

    def conflict_error_of(self, operation: str) -> str | None:
        """The error this behaviour answers a token conflict of `operation` with (None: the emulator's own)."""
        return self.conflict_error.get(operation) or self.conflict_error.get("*")

    def to_dict(self) -> dict[str, Any]:
        """Only the knobs that differ from the defaults (what a behaviour file would hold)."""
        default = Behaviour()
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) != getattr(default, f.name)}

    @classmethod
    def of(cls, value: "Behaviour | Mapping[str, Any] | None") -> "Behaviour":
        if value is None:
            return cls()
        if isinstance(value, Behaviour):
            return value
        if not isinstance(value, Mapping):
            raise BehaviourError(f"behaviour: a JSON object of knobs, got {type(value).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(value) - known - {"_comment"})
        if unknown:
            raise BehaviourError(f"behaviour: unknown knob{'s' * (len(unknown) > 1)} {', '.join(unknown)}; "
                                 f"known: {', '.join(sorted(known))}")
        given = {k: v for k, v in value.items() if k in known}
        if "access_denied" in given:
            denied = given["access_denied"]
            given["access_denied"] = (denied,) if isinstance(denied, str) else tuple(denied)
        return cls(**given)

    @classmethod
    def from_file(cls, path: str | Path) -> "Behaviour":
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as error:
            raise BehaviourError(f"behaviour file {path}: {error}") from None
        try:
            return cls.of(data)
        except BehaviourError as error:
            raise BehaviourError(f"behaviour file {path}: {str(error).removeprefix('behaviour: ')}") from None


def mask(secret: str) -> str:
    """How a service masking a secret shows it: a fixed run of asterisks (nothing of the secret itself), a valid
    SensitiveBasicStringWithoutSpace (pattern \\S+)."""
    return "*" * 8 if secret else secret
