"""Published index versions and the pointer to the one served.

    INDEX/
      CURRENT                      the name of the served version, one line, replaced atomically (os.replace)
      v-20240301T120000123456Z-3f9c0a1b2c3d4e5f/   a published version: never written again
      v-20240214T090000000000Z-0a1b2c3d4e5f6789/   the previous good one, kept to fall back on
      .building-<pid>-<random>/    a build in progress (removed by the next build if its process is gone)
      .lock                        taken while a version is published and old ones removed

A version's name ends with the first 16 hex digits of its manifest's SHA-256, so the manifest is checked too,
not only the files it lists. A build writes into a new directory and only then swaps the pointer: a reader
never sees half an index, and nothing a worker has loaded is ever rewritten under it.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

POINTER = "CURRENT"
LOCK = ".lock"
BUILDING_PREFIX = ".building-"
_VERSION = re.compile(r"v-\d{8}T\d{12}Z-[0-9a-f]{16}")
_HASH_DIGITS = 16


class IndexLoadError(RuntimeError):
    """The index directory is missing, of another format version, or damaged."""


def version_name(manifest_bytes: bytes, now: dt.datetime | None = None) -> str:
    """v-<UTC time to the microsecond>-<manifest hash>: names sort by age, and carry the manifest's checksum."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"v-{stamp}-{hashlib.sha256(manifest_bytes).hexdigest()[:_HASH_DIGITS]}"


def is_version_name(name: str) -> bool:
    return _VERSION.fullmatch(name) is not None


def manifest_matches_name(version_dir: Path, manifest_bytes: bytes) -> bool:
    """True unless the directory is a named version whose manifest is not the one it was published with."""
    name = Path(version_dir).name
    return not is_version_name(name) or name.endswith(hashlib.sha256(manifest_bytes).hexdigest()[:_HASH_DIGITS])


def versions(index_dir: Path) -> list[Path]:
    """The published versions, newest first."""
    try:
        found = [p for p in Path(index_dir).iterdir() if is_version_name(p.name) and p.is_dir()]
    except OSError:
        return []
    return sorted(found, key=lambda p: p.name, reverse=True)


def pointed(index_dir: Path) -> str | None:
    """The version name in CURRENT, None when there is no pointer; IndexLoadError when it is not a version name."""
    path = Path(index_dir) / POINTER
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise IndexLoadError(f"索引指针 {path} 无法读取（{e.strerror or e}）") from e
    name = raw.decode("ascii", errors="replace").strip()
    if not is_version_name(name):
        raise IndexLoadError(f"索引指针 {path} 已损坏（内容不是版本名），请重新运行 policyqa index")
    return name


def resolve(index_dir: Path) -> Path:
    """The version directory to load: the one CURRENT names; or `index_dir` itself when it holds a manifest (a
    version directory given directly, or an index of the old flat layout, which its format version then refuses)."""
    index_dir = Path(index_dir)
    name = pointed(index_dir)
    if name is not None:
        version = index_dir / name
        if not version.is_dir():
            raise IndexLoadError(f"索引已损坏：CURRENT 指向的版本 {name} 不存在，请重新运行 policyqa index")
        return version
    if (index_dir / "manifest.json").exists():
        return index_dir
    raise IndexLoadError(f"索引不存在：{index_dir}（没有 CURRENT 或 manifest.json），请先运行 policyqa index")


@contextlib.contextmanager
def _locked(index_dir: Path) -> Iterator[None]:
    with open(Path(index_dir) / LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner(name: str, prefix: str) -> int | None:
    m = re.match(rf"{re.escape(prefix)}(\d+)-", name)
    return int(m.group(1)) if m else None


def remove_stale_builds(index_dir: Path) -> list[Path]:
    """Remove what builds killed half-way left behind (their process is gone), and the temporary siblings of the
    old flat layout (`.index.building-*`, `.index.old-*`). Returns what was removed."""
    index_dir = Path(index_dir)
    removed = []
    candidates = [p for p in index_dir.iterdir() if p.name.startswith((BUILDING_PREFIX, f".{POINTER}."))] \
        if index_dir.is_dir() else []
    for path in candidates:
        owner = _owner(path.name, BUILDING_PREFIX if path.name.startswith(BUILDING_PREFIX) else f".{POINTER}.")
        if owner is not None and (owner == os.getpid() or _alive(owner)):
            continue
        _remove(path)
        removed.append(path)
    parent = index_dir.parent
    if parent.is_dir():
        for path in parent.glob(f".{index_dir.name}.*"):
            if path.name.startswith((f".{index_dir.name}.building-", f".{index_dir.name}.old-")):
                _remove(path)
                removed.append(path)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def building(index_dir: Path) -> Iterator[Path]:
    """A fresh temporary directory inside `index_dir` to write a version into; removed unless it was published."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with _locked(index_dir):
        remove_stale_builds(index_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f"{BUILDING_PREFIX}{os.getpid()}-", dir=index_dir))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the index is for every worker user
        yield tmp
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(index_dir: Path, built: Path, manifest_bytes: bytes, is_good: Callable[[Path], bool],
            legacy_files: tuple[str, ...] = ()) -> Path:
    """Rename the finished build to its version name, point CURRENT at it, keep the previous good version and
    remove the others. Returns the published version directory."""
    index_dir = Path(index_dir)
    with _locked(index_dir):
        previous = None
        with contextlib.suppress(IndexLoadError):
            previous = pointed(index_dir)
        version = index_dir / version_name(manifest_bytes)
        os.rename(built, version)
        fsync_dir(index_dir)
        tmp_pointer = index_dir / f".{POINTER}.{os.getpid()}-{version.name}.tmp"
        with open(tmp_pointer, "w", encoding="ascii") as f:
            f.write(version.name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_pointer, index_dir / POINTER)
        fsync_dir(index_dir)
        _prune(index_dir, version, previous, is_good)
        for name in legacy_files:  # the old flat layout's files, now that CURRENT is what is read
            with contextlib.suppress(FileNotFoundError):
                (index_dir / name).unlink()
    return version


def _prune(index_dir: Path, current: Path, previous: str | None, is_good: Callable[[Path], bool]) -> None:
    """Keep `current` and one good version before it (the one served until now when it checks out); remove the
    rest. Workers hold what they serve in memory, so removing a version under them is harmless."""
    older = [v for v in versions(index_dir) if v.name < current.name]  # newest first
    older.sort(key=lambda v: v.name != previous)  # stable: the one served until now, then the newest
    keep = next((v for v in older if is_good(v)), None)
    for v in older:
        if v != keep:
            shutil.rmtree(v, ignore_errors=True)


def fallbacks(index_dir: Path, failed: str | None) -> list[Path]:
    """Versions to try when the current one cannot be loaded: newest first, the failed one left out."""
    return [v for v in versions(index_dir) if v.name != failed]
