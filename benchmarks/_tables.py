"""What the benchmark scripts share: a markdown table printed, and kept beside --out with its rows as JSON."""

from __future__ import annotations

import json
from pathlib import Path


def emit(table: str, rows, out: Path | None) -> None:
    """Print ``table``; with ``out``, write it there and ``rows`` (JSON) to the same name with .json."""
    print(table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(table.rstrip("\n") + "\n")
        out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
