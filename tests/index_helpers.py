"""Reaching into an index directory the way damage, an older program or another dictionary would."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from indexer import versions


def current(index_dir: Path) -> Path:
    """The version directory CURRENT points at."""
    return versions.resolve(Path(index_dir))


def manifest_of(index_dir: Path) -> dict:
    return json.loads((current(index_dir) / "manifest.json").read_text(encoding="utf-8"))


def republish(index_dir: Path, edit: Callable[[dict], object]) -> Path:
    """Publish a copy of the current version whose manifest is `edit(manifest)`, named after that manifest as a
    build would name it, so that only what the edit changed is wrong with it."""
    source = current(index_dir)
    manifest = edit(json.loads((source / "manifest.json").read_text(encoding="utf-8")))
    data = json.dumps(manifest, ensure_ascii=False).encode("utf-8")
    with versions.building(Path(index_dir)) as tmp:
        for path in source.iterdir():
            if path.name != "manifest.json":
                shutil.copy2(path, tmp / path.name)
        (tmp / "manifest.json").write_bytes(data)
        return versions.publish(Path(index_dir), tmp, data, is_good=lambda version: True)
