"""Reading a pack's JSON data files: a file that cannot be read is the pack's own error, naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json(file: Path, error: type[Exception], what: str = "") -> Any:
    try:
        return json.loads(file.read_text())
    except (OSError, json.JSONDecodeError) as problem:
        raise error(f"cannot read {what + ' ' if what else ''}{file}: {problem}") from problem
