"""Append-only JSON-lines logs (log.jsonl, val.jsonl): one record per line, each with a "step".

Lines are flushed as they are written and fsynced before every checkpoint, so the log always reaches
at least the checkpoint's step. After a crash it may run past it (steps the resumed run will redo) or
end in a torn line; `JsonlLog.open` with `keep_through_step` cuts both off, which is what makes a
resumed run's log identical to an uninterrupted one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from matting_cli.data.atomic import atomic_write_text


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every complete record; a torn or garbled line (a crash mid-write) ends the log."""
    records = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except FileNotFoundError:
        return records
    for line in lines:
        if not line.endswith("\n"):
            break
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return records


class JsonlLog:
    def __init__(self, path: Path, records: list[dict[str, Any]]) -> None:
        self.path = path
        self.records = records
        self._handle = open(path, "a", encoding="utf-8")

    @classmethod
    def open(cls, path: Path, keep_through_step: int) -> "JsonlLog":
        """Open for appending, first dropping records after `keep_through_step` (0 = start empty)."""
        kept = [record for record in read_jsonl(path) if record["step"] <= keep_through_step]
        atomic_write_text(path, "".join(json.dumps(record) + "\n" for record in kept))
        return cls(path, kept)

    def append(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        self._handle.write(json.dumps(record) + "\n")
        self._handle.flush()

    def sync(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()
