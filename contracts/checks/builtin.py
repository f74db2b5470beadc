"""The built-in checks of the stateless and idempotency properties (registered at import)."""

from __future__ import annotations

import functools
import json
from typing import Any, Iterable

import jsonschema

from contracts import json_schema
from contracts.calls import Outcome, comparable
from contracts.checks.registry import CheckContext, check
from contracts.model.redaction import REDACTOR, sensitive_member_names
from contracts.validation.validate import validate_request

#: Errors of the AWS JSON protocol itself, which no operation declares: an answer to a body the service cannot read.
PROTOCOL_ERRORS = frozenset({"SerializationException"})


# ---------------------------------------------------------------------------------------------- stateless checks
@check("no_server_error", property="valid-requests")
def no_server_error(ctx: CheckContext, outcome: Outcome) -> None:
    """A valid request never gets a 5xx."""
    if not outcome.sent:
        raise NotExercised("not sent")
    if outcome.server_fault:
        ctx.fail(f"{ctx.operation} answered a valid request with a server error",
                 expected="a 2xx, or a declared client error", observed=outcome.summary())


@check("declared_error", property="declared-errors")
def declared_error(ctx: CheckContext, outcome: Outcome) -> None:
    """Every error code is one the operation declares in the model."""
    declared = ctx.contract.declared_errors(ctx.operation)
    if not outcome.error_code:
        raise NotExercised("no error answered")
    if outcome.error_code and outcome.error_code not in declared:
        # A protocol error answering a body that breaks the model is which-error (assumed), not an undeclared one.
        unreadable = outcome.error_code in PROTOCOL_ERRORS and _invalid_on_the_wire(ctx.operation, outcome)
        ctx.fail(f"{ctx.operation} answered with an error it does not declare: {outcome.error_code}",
                 expected=f"one of {', '.join(sorted(declared))}", observed=outcome.summary(),
                 expectation="protocol_error_for_invalid_body" if unreadable else "")


def _invalid_on_the_wire(operation: str, outcome: Outcome) -> bool:
    try:
        return bool(validate_request(operation, json.loads(outcome.sent_body or b"{}"), wire=True))
    except ValueError:
        return True


class NotExercised(Exception):
    """Raised by a check that ran without its subject: no successful response to validate, a control request
    that failed too. The example does not count towards the property's verdict (Suite.check records why)."""


def unexplained(ctx: CheckContext, params: dict, outcome: Outcome, predicted: dict[str, str] | None) -> str | None:
    """Why a refusal of a VALID request is not explained (None: explained).

    Explained only when predicted: `predicted` (contracts.engine.oracle) maps `Code` or `Code:reason` to what the
    suite knew (the name is taken, not a member, quota reached, a documented rule). A catch-all reason
    (invalidInput, other), a conflict, a quota or throttling refusal nobody predicted explains nothing."""
    code = outcome.error_code
    if code not in ctx.contract.explained_errors:
        return f"{code} is not an answer a valid request can get"
    predicted = predicted or {}
    reason = outcome.error.get("reason")
    if code in predicted or (reason and f"{code}:{reason}" in predicted):
        return None
    said = f"{code}" + (f" (reason {reason})" if reason else "")
    expected = "; ".join(f"{k}: {v}" for k, v in sorted(predicted.items())) or "nothing"
    return f"{said} was not predicted by the state the suite knows (it predicted {expected})"


@check("valid_request_handled", property="valid-requests")
def valid_request_handled(ctx: CheckContext, params: dict, outcome: Outcome,
                          predicted: dict[str, str] | None = None) -> None:
    """A valid request is accepted, or refused only with a declared error the suite predicted from the state."""
    if outcome.refused_by_client:
        ctx.fail(f"botocore refused a request the model allows ({ctx.operation})",
                 expected="the request is sent", observed=outcome.summary(), expectation="sent")
    if outcome.ok:
        return
    why = unexplained(ctx, params, outcome, predicted)
    if why:
        ctx.fail(f"{ctx.operation} refused a valid request: {why}", expected="accepted, or an explained refusal",
                 observed=outcome.summary(), expectation="explained_refusal" if not outcome.server_fault else "")


@functools.lru_cache(maxsize=None)
def _output_validator(operation: str):
    schema = json_schema(operation, "output")
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


@check("output_schema", property="output-schema")
def output_schema(ctx: CheckContext, outcome: Outcome) -> None:
    """A successful response's raw JSON body validates against the operation's output schema."""
    if not outcome.ok:
        raise NotExercised("no successful response to validate")
    body = outcome.wire if outcome.wire is not None else ({} if not outcome.wire_text.strip() else None)
    if body is None:
        ctx.fail(f"{ctx.operation} answered with a body that is not JSON", expected="a JSON object",
                 observed=f"{outcome.wire_text[:200]!r}")
    errors = sorted(_output_validator(ctx.operation).iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.absolute_path) or "(the body)"
        ctx.fail(f"{ctx.operation}'s response does not match its output schema at {where}",
                 expected=f"the model's output shape ({len(errors)} violation{'s' * (len(errors) > 1)})",
                 observed=REDACTOR.scrub(first.message)[:300])


@check("client_refuses_invalid", property="invalid-requests")
def client_refuses_invalid(ctx: CheckContext, violation: Any, outcome: Outcome) -> None:
    """A client-layer invalid request is refused by botocore (ParamValidationError) and never sent."""
    if not outcome.refused_by_client:
        ctx.fail(f"botocore did not refuse an invalid request ({violation.description})",
                 expected="ParamValidationError, nothing sent", observed=outcome.summary())


@check("target_refuses_invalid", property="invalid-requests")
def target_refuses_invalid(ctx: CheckContext, violation: Any, outcome: Outcome) -> None:
    """The target refuses every invalid request that reaches it (with ValidationException, the emulator's answer)."""
    if outcome.ok and violation.constraint == "unknown":
        ctx.fail(f"{ctx.operation} accepted a request with a member the model does not have "
                 f"({violation.description})", expected="ValidationException", observed=outcome.summary(),
                 expectation="unknown_member_refused")
    if outcome.ok or outcome.server_fault or not outcome.error_code:
        ctx.fail(f"{ctx.operation} did not refuse an invalid request ({violation.description})",
                 expected="ValidationException", observed=outcome.summary(), expectation="refused")
    if outcome.error_code != "ValidationException":
        ctx.fail(f"{ctx.operation} did not refuse an invalid request with ValidationException "
                 f"({violation.description})", expected="ValidationException", observed=outcome.summary(),
                 expectation="validation_exception")


# ------------------------------------------------------------------------------------------ idempotency checks
def _without(value: Any, paths: Iterable[str]) -> Any:
    value = dict(value or {})
    for path in paths:
        head, _, rest = path.partition(".")
        if head in value:
            value[head] = _without(value[head], [rest]) if rest else None
            if not rest:
                del value[head]
    return value


@check("replay_same_response", property="replay-equivalence")
def replay_same_response(ctx: CheckContext, first: Outcome, replay: Outcome) -> None:
    """A replay with the same token and payload gets the first response (volatile members aside)."""
    op = ctx.token_operation
    volatile = op.volatile if op else ()
    if not replay.ok:
        ctx.fail(f"replaying {ctx.operation} with the same token and payload was refused",
                 expected="the first response again", observed=replay.summary())
    a, b = _without(first.response, volatile), _without(replay.response, volatile)
    if a != b:
        ident = op.response_identifier if op else ""
        if ident and a.get(ident) != b.get(ident):
            title = f"replaying {ctx.operation} returned a different {ident}"
        else:
            title = f"replaying {ctx.operation} returned a different response"
        ctx.fail(title, expected=first.summary(), observed=replay.summary())


@check("conflict_refused", property="conflict-rejection")
def conflict_refused(ctx: CheckContext, mutation_description: str, outcome: Outcome) -> None:
    """Reusing a token with a different payload is rejected with a client error the operation declares (any of the
    contract's conflict_answers); the emulator's own conflict_error is an assumed expectation."""
    op = ctx.token_operation
    answers = ", ".join(sorted(op.conflict_answers))
    if outcome.ok:
        ctx.fail(f"{ctx.operation} accepted a reused token with a different payload ({mutation_description})",
                 expected=f"rejected: one of {answers}", observed=outcome.summary(), expectation="rejected")
    if outcome.error_code not in op.conflict_answers:
        ctx.fail(f"{ctx.operation} refused a token conflict with {outcome.error_code or outcome.summary()}, not a "
                 f"client error it declares", expected=f"one of {answers}", observed=outcome.summary(),
                 expectation="declared_client_error")
    if outcome.error_code != op.conflict_error:
        ctx.fail(f"{ctx.operation} refused a token conflict with {outcome.error_code}, not {op.conflict_error}",
                 expected=op.conflict_error, observed=outcome.summary(), expectation="conflict_error")


def _independent(ctx: CheckContext, params: dict, first: Outcome, second: Outcome, what: str,
                 predicted: dict[str, str] | None) -> None:
    op = ctx.token_operation
    if second.ok:
        if op.effect == "create" and first.ok:
            ident = op.response_identifier
            if first.response.get(ident) == second.response.get(ident):
                ctx.fail(f"{what} ({ctx.operation}) returned the first call's {ident}",
                         expected=f"a new {ident}", observed=second.summary())
        return
    why = unexplained(ctx, params, second, predicted)
    if why:
        ctx.fail(f"{what} ({ctx.operation}) was refused: {why}",
                 expected="a new effect or an explained refusal", observed=second.summary())


@check("independent_tokens", property="independence")
def independent_tokens(ctx: CheckContext, params: dict, first: Outcome, second: Outcome,
                       predicted: dict[str, str] | None = None) -> None:
    """Two tokens, one payload: the second call is a request of its own (new resource, or a predicted refusal)."""
    _independent(ctx, params, first, second, "the same payload with a new token", predicted)


@check("autofilled_token_sent", property="autofill")
def autofilled_token_sent(ctx: CheckContext, outcome: Outcome) -> None:
    """botocore puts a token on the wire when the caller leaves it out."""

    op = ctx.token_operation
    try:
        sent = json.loads(outcome.sent_body or b"{}")
    except ValueError:
        sent = {}
    if outcome.sent and not sent.get(op.token_member):
        ctx.fail(f"botocore sent {ctx.operation} without a {op.token_member} although the model marks it as an "
                 f"idempotency token", expected=f"a generated {op.token_member} on the wire",
                 observed="no token in the request body")


@check("autofill_independent", property="autofill")
def autofill_independent(ctx: CheckContext, params: dict, first: Outcome, second: Outcome,
                         predicted: dict[str, str] | None = None) -> None:
    """Two calls without a token are independent requests (the SDK fills a new token into each)."""
    _independent(ctx, params, first, second, "a second call without a token", predicted)


@check("delete_replay_same", property="delete-replay")
def delete_replay_same(ctx: CheckContext, first: Outcome, replay: Outcome) -> None:
    """Replaying a successful delete with its token returns the same success, not ResourceNotFound."""
    if not replay.ok:
        ctx.fail(f"replaying a successful {ctx.operation} with its token was refused",
                 expected="the first success again", observed=replay.summary())
    if first.response != replay.response:
        ctx.fail(f"replaying {ctx.operation} returned a different response",
                 expected=first.summary(), observed=replay.summary())


@check("delete_again_not_found", property="delete-replay")
def delete_again_not_found(ctx: CheckContext, outcome: Outcome) -> None:
    """A new delete (new token) of a deleted resource is ResourceNotFoundException."""
    if outcome.error_code != "ResourceNotFoundException":
        ctx.fail(f"a new {ctx.operation} of a deleted resource was not ResourceNotFoundException",
                 expected="ResourceNotFoundException", observed=outcome.summary())


@check("no_resurrection", property="delete-replay")
def no_resurrection(ctx: CheckContext, arn: str, replay: Outcome, read: Outcome) -> None:
    """Replaying a create after the resource was deleted does not bring it back."""
    if read.ok:
        ctx.fail(f"replaying {ctx.operation} after the resource was deleted brought it back",
                 expected=f"{arn} stays deleted (ResourceNotFoundException on read)", observed=read.summary())


@check("token_scoped_to_operation", property="scope")
def token_scoped_to_operation(ctx: CheckContext, source_operation: str, outcome: Outcome,
                              control: Outcome | None) -> None:
    """A token another operation used changes nothing here: refused only if a fresh token is refused too."""
    if not outcome.ok and (control is None or not control.ok):
        raise NotExercised("refused, and the control with a fresh token was refused too")
    if not outcome.ok and control is not None and control.ok:
        ctx.fail(f"{ctx.operation} with a token {source_operation} had used was refused, while the same request "
                 f"with a fresh token succeeded", expected=f"a fresh {ctx.operation}", observed=outcome.summary())


@check("token_scoped_to_account", property="scope")
def token_scoped_to_account(ctx: CheckContext, first: Outcome, outcome: Outcome) -> None:
    """Another account's request with the same token and payload is not answered with the first account's result."""
    op = ctx.token_operation
    ident = op.response_identifier
    if outcome.ok and first.ok and first.response.get(ident) == outcome.response.get(ident):
        ctx.fail(f"{ctx.operation} from another account was answered with the first account's {ident}",
                 expected=f"the other account's own {ident}, or its own refusal", observed=outcome.summary())
    if outcome.error_code and outcome.error_code == op.conflict_error and \
            outcome.error.get("reason") not in ctx.contract.domain_reasons - {"invalidInput"}:
        ctx.fail(f"{ctx.operation} from another account was refused as a conflict with the first account's token",
                 expected="a request of its own", observed=outcome.summary())


@check("failure_does_not_poison", property="failure-does-not-poison")
def failure_does_not_poison(ctx: CheckContext, refused: Outcome, outcome: Outcome, control: Outcome | None) -> None:
    """After a refused request, its token carries a valid request like a fresh token would."""
    if not outcome.ok and (control is None or not control.ok):
        raise NotExercised("refused, and the control with a fresh token was refused too")
    if not outcome.ok and control is not None and control.ok:
        ctx.fail(f"a token whose first {ctx.operation} was refused ({refused.error_code}) no longer works: the "
                 f"valid request was refused, the same request with a fresh token succeeded",
                 expected="the token stays unused", observed=outcome.summary())


@check("effect_visible", property="state-matches-reads")
def effect_visible(ctx: CheckContext, params: dict, view: dict) -> None:
    """After a successful change, the read-back shows every member the request set (where the read has it)."""
    op = ctx.token_operation
    skip = {op.token_member, op.resource.identifier} if op else set()
    for name, value in params.items():
        if name in skip or name not in view:
            continue
        sent, seen = comparable(value), comparable(view[name])
        if ctx.contract.equivalent(ctx.operation, {name: sent}, {name: seen}):
            continue  # e.g. a set-like list read back in another order (bases.json: equivalences)
        mismatch = first_mismatch(sent, seen, name)
        if mismatch:
            ctx.fail(f"after {ctx.operation} succeeded, {op.resource.read if op else 'the read'} shows "
                     f"{mismatch} differently from the request",
                     expectation="sensitive_shown_as_sent" if name in sensitive_member_names() else "",
                     expected=f"{mismatch} as sent", observed=f"{op.resource.read if op else 'read'}: "
                     f"{json.dumps(REDACTOR.placeholder_repr(comparable(view)), sort_keys=True, default=str)[:600]}")


def first_mismatch(sent: Any, seen: Any, path: str) -> str | None:
    """The path where the read-back differs from what was sent; members the read leaves out are not compared."""
    if isinstance(sent, dict) and isinstance(seen, dict):
        for key, value in sent.items():
            if key in seen:
                found = first_mismatch(value, seen[key], f"{path}.{key}")
                if found:
                    return found
        return None
    if isinstance(sent, list) and isinstance(seen, list):
        if len(sent) != len(seen):
            return path
        for i, (a, b) in enumerate(zip(sent, seen)):
            found = first_mismatch(a, b, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if sent == seen else path
