"""Checks of the fault properties 7, 8 and 10 of docs/idempotency.md, and the throttling half of 9.

Registered with the suite's check registry at import (contracts.checks says how); contracts/suite/test_faults.py
runs them. What "an in-flight conflict" means is fixed here, once: the operation's conflict error from the
contract data (ConflictException where declared, otherwise ValidationException), naming the token (in
`resourceType`, a `fieldList` entry or the message), so a refusal for another reason (a duplicate name, a
deleted resource) is never mistaken for one.
"""

from __future__ import annotations

from typing import Sequence

from contracts.calls import Attempt, Outcome
from contracts.checks.registry import CHECKS, CheckContext, Property, register_property

LOST_RESPONSE = register_property(Property(
    "lost-response", "Lost response", "the service commits, the response is lost, the SDK retries with the same "
    "token: exactly one effect", 7, short="7 lost"))
CONCURRENT = register_property(Property(
    "concurrent-duplicates", "Concurrent duplicates", "N requests with one token in flight at once: exactly one "
    "effect, every success carries the same result, the rest are refused as in-flight conflicts", 8,
    short="8 concurrent"))
POISON = "failure-does-not-poison"  # property 9, registered by contracts.checks (validation refusals)
EXPIRY = register_property(Property(
    "expiry", "Expiry", "within the window a token is remembered; after it the token is forgotten (what a "
    "replay then does is reported)", 10, short="10 expiry"))

check = CHECKS.register


def names_token(outcome: Outcome, member: str, token: str) -> bool:
    fields = outcome.error.get("fieldList") or []
    return (outcome.error.get("resourceType") == member or outcome.error.get("resourceId") == token
            or any(isinstance(f, dict) and f.get("name") == member for f in fields)
            or (bool(token) and token in (outcome.error_message or "")))


def refused_over_token(ctx: CheckContext, outcome: Outcome, token: str) -> bool:
    """Refused with the operation's conflict error naming the token: a token conflict, or (all payloads being
    equal) a duplicate in flight."""
    op = ctx.token_operation
    return outcome.error_code == op.conflict_error and names_token(outcome, op.token_member, token)


# ------------------------------------------------------------------------------------------- 7. lost response
@check("lost_response_same_token", property="lost-response")
def lost_response_same_token(ctx: CheckContext, token: str, attempts: Sequence[Attempt]) -> None:
    """After a lost response, botocore retried, and every attempt carried the same token and body (on the wire)."""
    member = ctx.token_operation.token_member
    if len(attempts) < 2:
        ctx.fail(f"botocore did not retry {ctx.operation} after its response was lost",
                 expected="a second attempt (standard retry mode)",
                 observed=f"{len(attempts)} attempt{'s' * (len(attempts) != 1)} on the wire")
    sent = [a.param(member) for a in attempts]
    if any(value != token for value in sent):
        ctx.fail(f"a retry of {ctx.operation} went out with another {member} than the first attempt",
                 expected=f"{member}={token!r} on every attempt", observed=f"{member} on the wire: {sent}")
    if len({a.body for a in attempts}) != 1:
        ctx.fail(f"a retry of {ctx.operation} went out with another body than the first attempt",
                 expected="the same request body on every attempt",
                 observed=f"{len({a.body for a in attempts})} different bodies in {len(attempts)} attempts")


@check("lost_response_retry_answered", property="lost-response")
def lost_response_retry_answered(ctx: CheckContext, outcome: Outcome, how: str) -> None:
    """The retry of a committed request gets the committed result, not a refusal and not a connection error."""
    if not outcome.ok:
        ctx.fail(f"after {how}, the retry of {ctx.operation} with the same token was not answered with the "
                 f"committed result", expected="success: the result of the committed first attempt",
                 observed=outcome.summary())


@check("lost_response_one_effect", property="lost-response")
def lost_response_one_effect(ctx: CheckContext, effects: int | None, observed: str) -> None:
    """A committed-then-lost request and its retry have exactly one effect between them."""
    if effects is not None and effects != 1:
        ctx.fail(f"a committed {ctx.operation} whose response was lost and was retried had "
                 f"{effects} effects", expected="exactly one effect", observed=observed)


# ---------------------------------------------------------------------------------- 8. concurrent duplicates
@check("concurrent_same_result", property="concurrent-duplicates")
def concurrent_same_result(ctx: CheckContext, outcomes: Sequence[Outcome], replay: Outcome) -> None:
    """Every success among concurrent duplicates, and a replay after them, carries the same result."""
    ident = ctx.token_operation.response_identifier
    results = {o.response.get(ident) for o in outcomes if o.ok}
    if replay.ok:
        results.add(replay.response.get(ident))
    if len(results) > 1:
        ctx.fail(f"{len(outcomes)} concurrent {ctx.operation} requests with one token succeeded with "
                 f"{len(results)} different {ident}s", expected=f"one {ident}", observed=", ".join(sorted(results)))
    if not replay.ok:
        ctx.fail(f"after {len(outcomes)} concurrent {ctx.operation} requests with one token, a replay of the "
                 f"request was refused: the first request's result was not kept",
                 expected="the result of the one that executed", observed=replay.summary())


@check("concurrent_refused_in_flight", property="concurrent-duplicates")
def concurrent_refused_in_flight(ctx: CheckContext, token: str, outcomes: Sequence[Outcome]) -> None:
    """A duplicate that does not get the result is refused as an in-flight conflict (declared, naming the
    token); never a 5xx, a connection error or a refusal for another reason."""
    op = ctx.token_operation
    for number, outcome in enumerate(outcomes, 1):
        if outcome.ok or refused_over_token(ctx, outcome, token):
            continue
        ctx.fail(f"one of {len(outcomes)} concurrent {ctx.operation} requests with one token was refused, but "
                 f"not as an in-flight conflict", expected=f"the result, or {op.conflict_error} naming "
                 f"{op.token_member} (a duplicate in flight)", observed=f"request {number}: {outcome.summary()}")
    if not any(o.ok for o in outcomes):
        ctx.fail(f"none of {len(outcomes)} concurrent {ctx.operation} requests with one token succeeded",
                 expected="exactly one executes", observed="all were refused as in flight")


@check("concurrent_one_effect", property="concurrent-duplicates")
def concurrent_one_effect(ctx: CheckContext, requests: int, effects: int | None, observed: str) -> None:
    """Concurrent requests with one token have exactly one effect between them."""
    if effects is not None and effects != 1:
        ctx.fail(f"{requests} concurrent {ctx.operation} requests with one token had {effects} effects",
                 expected="exactly one effect", observed=observed)


# ----------------------------------------------------------------- 9. a throttled or failed request is unused
@check("fault_refusal_leaves_token_unused", property="failure-does-not-poison")
def fault_refusal_leaves_token_unused(ctx: CheckContext, refused: Outcome, outcome: Outcome,
                                      effects: int | None, observed: str) -> None:
    """After a request was refused by throttling or a 5xx before any effect, its token carries the request
    again: success, and exactly one effect."""
    if not outcome.ok:
        ctx.fail(f"a token whose {ctx.operation} was refused with {refused.error_code} no longer works",
                 expected="the token is unused: the request executes", observed=outcome.summary(),
                 expectation="token_unused")
    if effects is not None and effects != 1:
        ctx.fail(f"after a {refused.error_code} refusal and a success with the same token, {ctx.operation} had "
                 f"{effects} effects", expected="exactly one effect", observed=observed, expectation="one_effect")


# -------------------------------------------------------------------------------------------------- 10. expiry
@check("token_remembered_within_window", property="expiry")
def token_remembered_within_window(ctx: CheckContext, first: Outcome, replay: Outcome, age: float) -> None:
    """A replay just inside the token window still gets the first result."""
    ident = ctx.token_operation.response_identifier
    if not replay.ok or replay.response.get(ident) != first.response.get(ident):
        ctx.fail(f"a replay of {ctx.operation} {age:.0f} s after the first call, inside the token window, did "
                 f"not get the first result", expected=first.summary(), observed=replay.summary())


@check("token_forgotten_after_window", property="expiry")
def token_forgotten_after_window(ctx: CheckContext, token: str, other: Outcome, age: float) -> None:
    """After the window, the token is unknown: a different payload with it is not refused as a token conflict."""
    if not other.ok and refused_over_token(ctx, other, token):
        ctx.fail(f"{age:.0f} s after its first use, past the token window, {ctx.operation}'s token still "
                 f"refused a different payload as a conflict", expected="the token is forgotten",
                 observed=other.summary())
