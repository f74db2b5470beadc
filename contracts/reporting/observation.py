"""What a self-checking reproduction compares: each step's answer reduced to what the same calls must answer
again, whatever the run.

An answer is `("ok", response)`, `("error", code, reason)`, `("refused by botocore",)` or `("connection failed",)`.
A successful response keeps its structure, numbers, booleans and constants (UPPER_CASE words such as statuses)
as they are; a time becomes where it first appeared, or `<time>` where it appears first (so a replay that
writes again shows a new time where the target kept it); every other string becomes where its value first appeared
in the steps
(`=s1.request.Name`, `=s2.InvoiceUnitArn`), or `<new>` where it appears first. So identifiers and page tokens,
which differ from run to run, compare by what they equal: a replay answering its create's ARN reads
`=s1.InvoiceUnitArn`, one answering a fresh ARN reads `<new>`; a name stored cut short reads `<new>` instead of
`=s1.request.Name`. Values first seen in a request are remembered before its response is shaped.

A member the model marks sensitive (`hidden`) holds placeholders in the failing run's record and the values
themselves in a replay: its strings read `<sensitive>` where they appear first, and where they first appeared
after that (so a secret read back as it was written still compares).

A listed resource the steps never touched (an `...Arn` first seen here, and no value tying it to the steps: a
name, a token, an identifier they sent or got; account IDs and constants do not tie) is left out on both sides:
the failing run may have listed what earlier examples left behind, which the script does not rebuild.

The reporters compute each step's observation from the failing run; the script computes it again from what the
target answers and exits 1 when every step matches (the violating behaviour is back), 0 at the first step that
differs. Standard library only: this module's source is copied into every reproduction script
(contracts.reporting.failures.observation_source), so the script and the reporter judge with the same code.
"""

from __future__ import annotations

import datetime
import re

_CONSTANT = re.compile(r"[A-Z][A-Z0-9_]*")
_ACCOUNT = re.compile(r"\d{12}")


def _key(value):
    """What a value is compared by, or None for values kept as they are (numbers, booleans, None, "")."""
    if isinstance(value, str) and value:
        return ("text", value)
    return None


def remember(seen, value, path):
    """Note where every string of a request first appeared."""
    if isinstance(value, dict):
        for name in sorted(value):
            remember(seen, value[name], f"{path}.{name}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            remember(seen, item, f"{path}[{index}]")
    else:
        key = _key(value)
        if key is not None:
            seen.setdefault(key, path)


def _strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str) and value:
        yield value


def untouched(seen, item):
    """Whether a listed item is a resource the steps never touched (see above)."""
    if not isinstance(item, dict):
        return False
    arns = [v for k, v in item.items() if k.endswith("Arn") and isinstance(v, str)]
    if not arns or any(("text", arn) in seen for arn in arns):
        return False
    return not any(("text", text) in seen and not _ACCOUNT.fullmatch(text) and not _CONSTANT.fullmatch(text)
                   for text in _strings(item))


def shape(seen, value, path, hidden=frozenset(), inside=False):
    """A response with every time `<time>` and every string replaced by where it first appeared, or `<new>`
    (`<sensitive>` inside a member named in `hidden`)."""
    if isinstance(value, dict):
        return {name: shape(seen, value[name], f"{path}.{name}", hidden, inside or name in hidden)
                for name in sorted(value)}
    if isinstance(value, (list, tuple)):
        kept = [item for item in value if not untouched(seen, item)]
        return [shape(seen, item, f"{path}[{index}]", hidden, inside) for index, item in enumerate(kept)]
    if isinstance(value, datetime.datetime):
        # A time seen before reads as where (a read showing the time of the change it follows); any other reads
        # `<time>`, not its value: when a change happens is the pace of the calls, not the target. Two changes in
        # one tick of a coarse clock can make a script read "=" where the run read `<time>`, never the reverse
        # for a time a correct target keeps: at worst a reproduction misses a fault, it never invents one.
        key = ("time", value.isoformat())
        if key in seen:
            return "=" + seen[key]
        seen[key] = path
        return "<time>"
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    key = _key(value)
    if key is None:
        return value
    if key in seen:
        return "=" + seen[key]
    seen[key] = path
    if inside:
        return "<sensitive>"
    return value if key[0] == "text" and _CONSTANT.fullmatch(value) else "<new>"


def observe(seen, number, params, answer, hidden=frozenset()):
    """Step `number`'s observation: its request remembered, then its answer shaped."""
    remember(seen, params, f"s{number}.request")
    if answer[0] == "ok":
        return ["ok", shape(seen, answer[1], f"s{number}", hidden)]
    return list(answer)


def observe_batch(seen, number, answers, identifier):
    """Concurrent answers to one request, in the scheduler's order: which kinds of answer came, and how many
    distinct `identifier`s the successes carried (one, for a token honoured). What they carried is remembered as
    `s<number>.batch`, so later steps refer to it alike in the run and in the script."""
    kinds = sorted({"ok" if answer[0] == "ok" else " ".join(str(part) for part in answer if part is not None)
                    for answer in answers})
    results = [answer[1] for answer in answers if answer[0] == "ok"]
    for result in results:
        remember(seen, result, f"s{number}.batch")
    return {"answers": kinds, "distinct results": len({repr(result.get(identifier)) for result in results})}


def verdict(steps, expected, observed):
    """1 when every step answered as in the failing run (the fault is present), else 0; says which."""
    for number, want, got in steps:
        if got != want:
            print(f"NOT REPRODUCED: step {number} answered otherwise than in the failing run")
            print(f"  failing run: {want}")
            print(f"  now:         {got}")
            print("The target behaves here (or the state the violation needs was not rebuilt): exit 0")
            return 0
    print(f"FAULT PRESENT: all {len(steps)} steps answered as in the failing run")
    print(f"  the contract expected: {expected}")
    print(f"  the failing run observed: {observed}")
    return 1
