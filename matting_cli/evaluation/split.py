"""Group files for per-group results (e.g. Composition-1k's transparent / non-transparent split).

The file has group headers in brackets and one name per line under them:

    [transparent]
    glass_cup
    net
    [non-transparent]
    boy

Blank lines and lines starting with '#' are ignored; a name may carry an extension. A name matches
the image with that key, and also the composites made from it (`{name}_{i}`), since Composition-1k
lists foregrounds while its 1000 test images are named `{fg}_{i}`.
"""

from __future__ import annotations

import re
from pathlib import Path

from matting_cli.errors import PpidError

_HEADER = re.compile(r"^\[(?P<name>[^\]]+)\]$")
_COMPOSITE_SUFFIX = re.compile(r"^(?P<base>.+)_\d+$")


def read_split(path: Path) -> dict[str, list[str]]:
    """{group: [names]} in file order."""
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PpidError(f"{path}: cannot read split file ({exc})") from None
    groups: dict[str, list[str]] = {}
    current: str | None = None
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = _HEADER.match(line)
        if header:
            current = header.group("name").strip()
            groups.setdefault(current, [])
            continue
        if current is None:
            raise PpidError(f"{path}:{number}: name '{line}' before any [group] header")
        name = re.sub(r"\.(png|jpe?g|tiff?|webp|bmp)$", "", line, flags=re.IGNORECASE)
        groups[current].append(name)
    if not groups:
        raise PpidError(f"{path}: no [group] headers found")
    return groups


def group_members(groups: dict[str, list[str]], keys: list[str]) -> dict[str, list[str]]:
    """For each group, the evaluated keys it covers (exact name, or `{name}_{i}` composites)."""
    members: dict[str, list[str]] = {}
    for group, names in groups.items():
        wanted = set(names)
        chosen = []
        for key in keys:
            stem = key.rsplit("/", 1)[-1]
            composite = _COMPOSITE_SUFFIX.match(stem)
            if key in wanted or stem in wanted or (composite and composite.group("base") in wanted):
                chosen.append(key)
        members[group] = chosen
    return members
