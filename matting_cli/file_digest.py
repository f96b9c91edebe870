"""The sha256 of a file, read in blocks: weights cards, cache keys and conversions all name files by it.
Kept free of torch so that code which only needs the digest starts fast."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
