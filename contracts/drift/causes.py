"""Changes grouped by cause: one edit of the model, with every place it reaches.

The diff finds changes per operation and member path, because that is where callers meet them. One edit of a
shared shape (BasicString's pattern, an enum used in four places) therefore shows up once per member and
operation. A cause is such an edit: the shape it lies in and what changed there, with the same severity and
reason; its sites are the (operation, section, path) where it shows. Changes to an operation itself (its traits,
its declared errors) are causes of their own, one per operation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class Cause:
    changes: list = field(repr=False)  # the Change records it groups, in diff order

    @property
    def first(self):
        return self.changes[0]

    shape = property(lambda self: self.first.shape)
    kind = property(lambda self: self.first.kind)
    severity = property(lambda self: self.first.severity)
    reason = property(lambda self: self.first.reason)
    pattern = property(lambda self: self.first.pattern)
    affects_callers = property(lambda self: self.first.affects_callers)
    in_error_member = property(lambda self: self.first.in_error_member)

    @property
    def operations(self) -> list[str]:
        return list(dict.fromkeys(c.operation for c in self.changes))

    @property
    def sites(self) -> list[tuple[str, str, str]]:
        return [(c.operation, c.section, c.path) for c in self.changes]

    @property
    def headline(self) -> str:
        """What changed, without its consequence: reasons read "what: consequence"."""
        return self.reason.split(": ", 1)[0]

    def to_dict(self) -> dict:
        first = self.first.to_dict()
        return {
            "shape": self.shape, "kind": self.kind, "severity": self.severity, "reason": self.reason,
            "old": first["old"], "new": first["new"], "affects_callers": self.affects_callers,
            "in_error_member": self.in_error_member, "operations": self.operations,
            "sites": [{"operation": o, "section": s, "path": p} for o, s, p in self.sites],
            **({"pattern": first["pattern"]} if "pattern" in first else {}),
        }


# Changes about one member of a structure: the member's name is part of the edit (two members added to one
# structure are two edits, even with the same reason). A retarget is not: "X replaced by Y" is one edit wherever.
_MEMBER_KINDS = {"member-added", "member-removed", "required-added", "required-removed"}


def cause_key(change) -> tuple:
    """Changes with equal keys come from one edit. Operation-level changes are scoped to their operation."""
    operation_level = change.section == "operation" or (change.section == "errors" and not change.in_error_member)
    member = change.segments[-1] if change.kind in _MEMBER_KINDS and change.segments else None
    return (
        change.operation if operation_level else None, change.shape, member, change.kind, change.severity,
        change.reason, json.dumps([change.old, change.new], default=str, sort_keys=True), change.in_error_member,
    )


def group_causes(changes) -> list[Cause]:
    """Causes in the order their first change was found (the diff's order: new-model operation order)."""
    grouped: dict[tuple, Cause] = {}
    for change in changes:
        grouped.setdefault(cause_key(change), Cause([])).changes.append(change)
    return list(grouped.values())
