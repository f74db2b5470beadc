"""Keep members the model marks sensitive out of everything the suite writes or prints.

Two layers, because either alone leaks:
- structure: any member whose name the model marks sensitive anywhere (its shape, or the elements of its list or
  map, carry the `sensitive` trait) is masked wherever it appears, in requests and responses alike. By name and
  not by shape, because a target may echo a secret through an output member the model does not mark
  (GetProcurementPortalPreference's ProcurementPortalSharedSecret).
- free text: every secret value seen in a structure is remembered, and text from elsewhere (error messages of the
  target, notes, tracebacks) is scrubbed of it where it enters a record (Outcome.summary, ContractViolation,
  Results.observe/add_error, a step's note). Never a whole document the suite composed: a generated secret can be
  any word the suite writes itself (Hypothesis draws strings from constants in our own source), and scrubbing
  composed text would shred JSON keys, verdicts and the code of reproductions.

Masks keep a value's length, whitespace and punctuation (so a reproduction still violates or satisfies the same
length and pattern constraints) and tag distinct values distinctly (so a conflicting payload stays conflicting).
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from strategies import sensitive_members as sensitive_member_names

REDACTED = "<redacted>"
# Shorter values are not scrubbed from free text: a one-letter "secret" would shred every message.
MIN_SCRUB_LENGTH = 3


class Redactor:
    """Masks sensitive members in structures and scrubs the secrets it has seen from text (thread-safe)."""

    def __init__(self, names: frozenset[str] | None = None):
        self._names = names  # None: read from the model on first use, not at import
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    @property
    def names(self) -> frozenset[str]:
        return sensitive_member_names() if self._names is None else self._names

    def also_sensitive(self, names: frozenset[str]) -> None:
        """Mask these member names too (another service's sensitive members, for its contract pack)."""
        with self._lock:
            self._names = self.names | frozenset(names)

    # -- structures -------------------------------------------------------------------------------------------
    def harvest(self, value: Any) -> None:
        """Remember every secret inside `value` (params, a response) so free text can be scrubbed of it."""
        found: list[str] = []
        # The callback returns the secret: a bytes secret (a blob member) is re-encoded from what it returns.
        self._walk(value, inside=False, on_secret=lambda secret: found.append(secret) or secret)
        with self._lock:
            self._secrets.update(s for s in found if len(s) >= MIN_SCRUB_LENGTH)

    def mask(self, value: Any, masks: dict[str, str] | None = None) -> Any:
        """A copy of `value` with every sensitive string replaced by a same-shaped placeholder.

        Pass the same `masks` dict to several calls (the steps of one reproduction) so equal secrets get equal
        placeholders and different secrets different ones."""
        masks = {} if masks is None else masks

        def replace(secret: str) -> str:
            if secret not in masks:
                masks[secret] = _placeholder(secret, len(masks))
            return masks[secret]

        self.harvest(value)
        return self._walk(value, inside=False, on_secret=replace)

    def placeholder_repr(self, value: Any) -> Any:
        """A copy fit for repr(): sensitive strings become '<redacted>'."""
        self.harvest(value)
        return self._walk(value, inside=False, on_secret=lambda _s: REDACTED)

    def _walk(self, value: Any, *, inside: bool, on_secret) -> Any:
        if isinstance(value, dict):
            return {
                k: self._walk(v, inside=inside or k in self.names, on_secret=on_secret) for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return type(value)(self._walk(v, inside=inside, on_secret=on_secret) for v in value)
        if inside and isinstance(value, str) and value:
            return on_secret(value)
        if inside and isinstance(value, bytes) and value:
            return on_secret(value.decode("utf-8", "replace")).encode()
        return value

    # -- free text -------------------------------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        """`text` with every secret seen so far replaced by '<redacted>' (longest first)."""
        if not text:
            return text
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def known_secrets(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._secrets)


def _placeholder(secret: str, index: int) -> str:
    """Same length, whitespace and punctuation as `secret`; letters and digits replaced by a tag for `index`."""
    alnum = sum(c.isalnum() for c in secret)
    tag = f"R{index}" if alnum >= len(f"R{index}") else "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[index % 26]
    fill = itertools.chain(tag, itertools.repeat("x"))
    return "".join(next(fill) if c.isalnum() else c for c in secret)


# One redactor per process: every call the suite makes feeds it, every writer reads from it.
REDACTOR = Redactor()
