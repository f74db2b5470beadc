"""One wording for broken constraints, shared by violation labels and the local validator's problems.

"violates max=50 at Name (was 51 characters)": the constraint, its bound, the path, what was there.
"""

from __future__ import annotations

import json
from typing import Any


def quote_path_key(key: Any) -> str:
    """A map key as it appears in a path: `Tags["env"]`."""
    return json.dumps(key if isinstance(key, str) else str(key), ensure_ascii=False)


def describe(constraint: str, path: str, detail: str, bound: Any = None) -> str:
    label = constraint if bound is None else f"{constraint}={bound}"
    return f"violates {label} at {path or 'the request'} ({detail})"
