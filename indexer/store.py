"""The index on disk: plain files in an immutable, versioned directory, every byte checked when loaded.

An index directory holds published versions and a CURRENT pointer (indexer/versions.py). A version
(FORMAT_VERSION 4) holds:
    manifest.json     format name and version, BM25 parameters, every count, the dtype and shape of every
                      array, the dictionary fingerprint, the corpus files it was built from, and the size and
                      SHA-256 of every other file (the manifest's own hash ends the version's name)
    notices.json      the notices, without clauses
    clauses.jsonl     one clause a line, in matrix column order
    vocabulary.json   the terms, in matrix row order
    *.npy             the term–clause matrices (CSR parts), idf, clause lengths, the notice
                      of each clause and the term ids of each clause's heading and sentences; never pickled

Loading checks every file against the manifest from the very bytes it keeps, so damage of any kind
(truncated, same-size garbage) is refused with IndexLoadError; and nothing done to the published files
afterwards can reach a loaded index (docs/index-safety.md): small files are read whole into memory, large
ones are copied, checked as they are copied, into a private file without a name (O_TMPFILE) beside the
versions and mapped from there. The published files themselves are never mapped, so truncating one cannot
raise SIGBUS in a worker.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import hashlib
import io
import json
import mmap
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse

from . import versions
from .bm25 import BM25Params
from .models import Clause, Notice
from .version_writer import VersionWriter
from .versions import IndexLoadError

__all__ = ["DiskFull", "IndexLoadError", "StoredIndex", "clause_line", "disk_full_is_reported", "load_index",
           "notices_json", "read_manifest", "verify_version", "vocabulary_json", "write_index"]

FORMAT_NAME = "policyqa-index"
FORMAT_VERSION = 4  # 4: versioned directories, SHA-256 of every file, every count and array shape

_ARRAYS = ("tf_indptr", "tf_indices", "tf_data", "weights", "idf", "doc_len", "clause_notice",
           "part_terms", "part_ptr", "clause_part_ptr", "clause_offsets")
_FILES = ("notices.json", "clauses.jsonl", "vocabulary.json", *(f"{name}.npy" for name in _ARRAYS))
_COUNTS = ("notices", "clauses", "terms", "postings", "parts", "part_terms")
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}  # EFBIG: a file size limit (RLIMIT_FSIZE, quota)
_SHA256 = frozenset("0123456789abcdef")
PRIVATE_COPY_ABOVE = 32 * 1024 * 1024  # bytes: larger files are mapped from a private copy, smaller ones read
_COPY_CHUNK = 4 * 1024 * 1024
_NPY_HEADER_MAX = 65536 + 16  # format 1.0 headers are at most 65,535 bytes after the magic and length


class DiskFull(RuntimeError):
    """No room to write the index (ENOSPC, EDQUOT, EFBIG); the half-written version is removed, the old kept."""


class LazyClauses(Sequence):
    """clauses.jsonl, held as the checked bytes and parsed a line at a time when asked for."""

    def __init__(self, data: bytes, offsets: np.ndarray):
        self._data = data
        self._offsets = offsets
        # Per instance: a class-level cache would keep a replaced index alive after a reload.
        self._clause = lru_cache(maxsize=4096)(self._read)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def _read(self, i: int) -> Clause:
        start, end = int(self._offsets[i]), int(self._offsets[i + 1])
        return _clause(json.loads(self._data[start:end]))

    def lines(self, start: int, stop: int) -> tuple[bytes, np.ndarray]:
        """The stored lines of clauses start..stop-1 as they are on disk (an update copies them unparsed), and the
        length of each."""
        return (bytes(self._data[int(self._offsets[start]):int(self._offsets[stop])]),
                np.diff(self._offsets[start:stop + 1]).astype(np.int64))

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._clause(i)


@dataclass(frozen=True)
class StoredIndex:
    manifest: dict
    notices: tuple[Notice, ...]  # without their clauses: see clauses_of
    clauses: Sequence[Clause]
    vocabulary: dict[str, int]
    idf: np.ndarray
    tf: sparse.csr_matrix
    weights: sparse.csr_matrix
    doc_len: np.ndarray
    clause_notice: np.ndarray  # index into notices, one per clause
    part_terms: np.ndarray  # term ids of each part (heading, then sentences) of each clause, sorted
    part_ptr: np.ndarray  # where each part's term ids start in part_terms
    clause_part_ptr: np.ndarray  # where each clause's parts start in part_ptr
    version: str = ""  # the name of the version directory it was loaded from

    @property
    def params(self) -> BM25Params:
        return BM25Params(**self.manifest["bm25"])

    def clause_rows(self, notice_row: int) -> range:
        """The rows of a notice's clauses: they are contiguous, notices in index order."""
        return range(int(np.searchsorted(self.clause_notice, notice_row, "left")),
                     int(np.searchsorted(self.clause_notice, notice_row, "right")))


_NOTICE_FIELDS = tuple(f.name for f in dataclasses.fields(Notice) if f.name != "clauses")


def _notice_record(n: Notice) -> dict:
    # The fields read directly, as in clause_line: dataclasses.asdict deep-copies, slowly, and to no end here.
    return {name: getattr(n, name) for name in _NOTICE_FIELDS}


def notices_json(notices: Sequence[Notice]) -> bytes:
    """notices.json: the notices in index order, without their clauses."""
    return json.dumps([_notice_record(n) for n in notices], ensure_ascii=False, indent=1).encode("utf-8")


_CLAUSE_FIELDS = tuple(f.name for f in dataclasses.fields(Clause))


def clause_line(clause: Clause) -> bytes:
    """One line of clauses.jsonl: what the build's workers send back already serialised. The fields are read
    directly: dataclasses.asdict deep-copies every value, a fifth of a worker's time once tokenizing is fast
    (the JSON is the same: the values are str, int and a tuple of str)."""
    record = {name: getattr(clause, name) for name in _CLAUSE_FIELDS}
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def vocabulary_json(vocabulary: Sequence[str]) -> bytes:
    return json.dumps(list(vocabulary), ensure_ascii=False).encode("utf-8")


# --- writing ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def disk_full_is_reported(index_dir: Path) -> Iterator[None]:
    """ENOSPC, EDQUOT and EFBIG raised inside become DiskFull, whose message says the old index is kept."""
    try:
        yield
    except OSError as e:
        if e.errno in _DISK_FULL:
            where = e.filename or index_dir
            raise DiskFull(f"磁盘空间不足，索引没有写完（{where}：{e.strerror}）；原索引保持不变") from e
        raise


def write_index(index_dir: Path, fill: Callable[[VersionWriter], None], *, notices: int, params: BM25Params,
                corpus: dict, dictionary: str) -> Path:
    """Write a new version into a temporary directory inside `index_dir`, then publish it (rename, then swap
    the CURRENT pointer). `fill` writes every file but the manifest (_FILES) through the VersionWriter it is
    given; `notices` is how many notices it writes. Returns the version directory. Raises DiskFull when the disk
    is full; either way a failed write leaves the served version as it was."""
    index_dir = Path(index_dir)
    with disk_full_is_reported(index_dir), versions.building(index_dir) as tmp:
        writer = VersionWriter(tmp)
        fill(writer)
        manifest_bytes = _write_manifest(tmp, writer, notices=notices, params=params, corpus=corpus,
                                         dictionary=dictionary)
        return versions.publish(index_dir, tmp, manifest_bytes, is_good=_is_good,
                                legacy_files=("manifest.json", *_FILES))


def _write_manifest(tmp: Path, writer: VersionWriter, *, notices: int, params, corpus, dictionary) -> bytes:
    if set(writer.files) != set(_FILES):
        raise ValueError(f"index files missing or unexpected: {sorted(set(writer.files) ^ set(_FILES))}")
    length = {name: writer.arrays[name]["shape"][0] for name in _ARRAYS}
    manifest = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "bm25": dataclasses.asdict(params),
        "counts": {"notices": notices, "clauses": length["doc_len"], "terms": length["idf"],
                   "postings": length["tf_data"], "parts": length["part_ptr"] - 1,
                   "part_terms": length["part_terms"]},
        "arrays": {name: writer.arrays[name] for name in _ARRAYS},
        "corpus": corpus,
        "dictionary": dictionary,
        "files": {name: writer.files[name] for name in _FILES},
    }
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
    with open(tmp / "manifest.json", "wb") as f:
        f.write(manifest_bytes)
        f.flush()
        os.fsync(f.fileno())
    versions.fsync_dir(tmp)
    return manifest_bytes


def _is_good(version_dir: Path) -> bool:
    try:
        verify_version(version_dir)
    except IndexLoadError:
        return False
    return True


# --- reading ------------------------------------------------------------------------------------------------


def _damaged(what: str) -> IndexLoadError:
    return IndexLoadError(f"索引已损坏：{what}，请重新运行 policyqa index")


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_manifest(manifest, where: Path) -> dict:
    """The manifest's shape, field by field: a wrong type is damage, reported, never a TypeError later."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise IndexLoadError(f"{where} 不是 policyqa 索引（manifest.json 格式不符）")
    if manifest.get("version") != FORMAT_VERSION:
        raise IndexLoadError(
            f"索引格式版本为 {manifest.get('version')}，本程序需要版本 {FORMAT_VERSION}，请重新运行 policyqa index")
    bm25 = manifest.get("bm25")
    fields = {f.name for f in dataclasses.fields(BM25Params)}
    if not (isinstance(bm25, dict) and set(bm25) == fields
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in bm25.values())):
        raise _damaged("manifest.json 的 bm25 参数不正确")
    counts = manifest.get("counts")
    if not (isinstance(counts, dict) and all(_is_count(counts.get(k)) for k in _COUNTS)):
        raise _damaged("manifest.json 的 counts 不正确")
    files = manifest.get("files")
    if not (isinstance(files, dict) and set(files) == set(_FILES) and all(
            isinstance(e, dict) and _is_count(e.get("size")) and isinstance(e.get("sha256"), str)
            and len(e["sha256"]) == 64 and set(e["sha256"]) <= _SHA256 for e in files.values())):
        raise _damaged("manifest.json 的 files 不正确")
    arrays = manifest.get("arrays")
    if not (isinstance(arrays, dict) and set(arrays) == set(_ARRAYS) and all(
            isinstance(a, dict) and isinstance(a.get("dtype"), str) and isinstance(a.get("shape"), list)
            and all(_is_count(d) for d in a["shape"]) for a in arrays.values())):
        raise _damaged("manifest.json 的 arrays 不正确")
    corpus = manifest.get("corpus")
    if not (isinstance(corpus, dict) and isinstance(corpus.get("files", {}), dict)
            and isinstance(corpus.get("dir", ""), str)):
        raise _damaged("manifest.json 的 corpus 不正确")
    if not isinstance(manifest.get("dictionary"), str):
        raise _damaged("manifest.json 的 dictionary 不正确")
    return manifest


def _read_manifest_of(version_dir: Path) -> dict:
    path = version_dir / "manifest.json"
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise IndexLoadError(f"索引不存在：{version_dir}（缺少 manifest.json），请先运行 policyqa index") from e
    except OSError as e:
        raise _damaged(f"{path} 无法读取（{e.strerror or e}）") from e
    if not versions.manifest_matches_name(version_dir, data):
        raise _damaged(f"{version_dir.name}/manifest.json 与版本名中的校验和不符")
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _damaged(f"{path} 无法解析（{e}）") from e
    return _check_manifest(manifest, version_dir)


def read_manifest(index_dir: Path) -> dict:
    """The checked manifest of the version served from `index_dir` (its files are not read)."""
    return _read_manifest_of(versions.resolve(Path(index_dir)))


def _read_checked(version_dir: Path, name: str, entry: dict) -> bytes:
    """The whole file, checked against the manifest from the very bytes returned (nothing read twice)."""
    try:
        data = (version_dir / name).read_bytes()
    except FileNotFoundError as e:
        raise _damaged(f"缺少文件 {name}") from e
    except OSError as e:
        raise _damaged(f"{name} 无法读取（{e.strerror or e}）") from e
    if len(data) != entry["size"]:
        raise _damaged(f"{name} 大小与记录不符（{len(data)} 字节，应为 {entry['size']}）")
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise _damaged(f"{name} 的 SHA-256 校验和与记录不符（文件内容被改动）")
    return data


def _private_copy(version_dir: Path, name: str, entry: dict):
    """A read-only mapping of a private copy of the file, checked while it is copied. The copy has no name
    (O_TMPFILE, or a name removed at once), so nothing but this process can reach it: its pages are the page
    cache's, as a mapping of the published file would be, but no truncate of the published file reaches them."""
    source_path = version_dir / name
    try:
        copy_fd = _nameless_file(version_dir.parent)
    except OSError:
        return _read_checked(version_dir, name, entry)  # no room or no permission for a copy: into memory
    try:
        digest, size = hashlib.sha256(), 0
        with open(source_path, "rb") as source:
            while chunk := source.read(_COPY_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(copy_fd, view):]
        if size != entry["size"]:
            raise _damaged(f"{name} 大小与记录不符（{size} 字节，应为 {entry['size']}）")
        if digest.hexdigest() != entry["sha256"]:
            raise _damaged(f"{name} 的 SHA-256 校验和与记录不符（文件内容被改动）")
        return mmap.mmap(copy_fd, 0, access=mmap.ACCESS_READ) if size else b""
    except FileNotFoundError as e:
        raise _damaged(f"缺少文件 {name}") from e
    except OSError as e:
        if e.errno in _DISK_FULL:
            return _read_checked(version_dir, name, entry)  # the disk is full: this one goes into memory
        raise _damaged(f"{name} 无法读取（{e.strerror or e}）") from e
    finally:
        os.close(copy_fd)  # the mapping keeps the file; it is gone with the last reference to the index


def _nameless_file(directory: Path) -> int:
    try:
        return os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o600)
    except (AttributeError, OSError):  # no O_TMPFILE here (or on this file system): a name, removed at once
        fd, path = tempfile.mkstemp(prefix=".private-", dir=directory)
        os.unlink(path)
        return fd


def verify_version(version_dir: Path) -> dict:
    """Check a version's manifest and every file's size and SHA-256, without loading it; returns the manifest."""
    version_dir = Path(version_dir)
    manifest = _read_manifest_of(version_dir)
    for name, entry in manifest["files"].items():
        _check_file(version_dir, name, entry)
    return manifest


def _check_file(version_dir: Path, name: str, entry: dict) -> None:
    """Size and SHA-256 of one file, read a few megabytes at a time: a million clauses make a clauses.jsonl of
    more than a gigabyte, which a check (of the version kept to fall back on, say) must not hold in memory."""
    digest, size = hashlib.sha256(), 0
    try:
        with open(version_dir / name, "rb") as f:
            while chunk := f.read(_COPY_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError as e:
        raise _damaged(f"缺少文件 {name}") from e
    except OSError as e:
        raise _damaged(f"{name} 无法读取（{e.strerror or e}）") from e
    if size != entry["size"]:
        raise _damaged(f"{name} 大小与记录不符（{size} 字节，应为 {entry['size']}）")
    if digest.hexdigest() != entry["sha256"]:
        raise _damaged(f"{name} 的 SHA-256 校验和与记录不符（文件内容被改动）")


def _array(data: bytes, name: str, expected: dict) -> np.ndarray:
    """A read-only array over the checked bytes of an .npy file (no copy); its dtype and shape as recorded."""
    buffer = io.BytesIO(memoryview(data)[:_NPY_HEADER_MAX])  # only the header is parsed here
    try:
        major, _ = np.lib.format.read_magic(buffer)
        read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(buffer)
        if dtype.hasobject or fortran:
            raise ValueError("unexpected layout")
        array = np.frombuffer(data, dtype=dtype, count=int(np.prod(shape, dtype=np.int64)), offset=buffer.tell())
    except ValueError as e:
        raise _damaged(f"{name}.npy 无法读取（{e}）") from e
    if dtype.str != expected["dtype"] or list(shape) != expected["shape"]:
        raise _damaged(f"{name}.npy 的类型或形状与记录不符")
    return array.reshape(shape)


def load_index(index_dir: Path, dictionary: str | None = None,
               private_copy_above: int = PRIVATE_COPY_ABOVE) -> StoredIndex:
    """Load and check the version CURRENT points at (or `index_dir` itself, if it is a version directory).

    Every file is checked (size, SHA-256, counts, shapes) from the bytes kept: files up to
    `private_copy_above` bytes are read into memory, larger ones mapped from a private copy. Raises
    IndexLoadError with the reason. `dictionary`, when given, is the fingerprint of the tokenizer's
    dictionary this process uses: an index cut with another dictionary would silently miss words, so it is
    refused.
    """
    version_dir = versions.resolve(Path(index_dir))
    manifest = _read_manifest_of(version_dir)
    if dictionary is not None and manifest["dictionary"] != dictionary:
        raise IndexLoadError("索引是用另一版本的词典建立的，与本程序的分词不一致，请重新运行 policyqa index")
    data = {name: _private_copy(version_dir, name, entry) if entry["size"] > private_copy_above
            else _read_checked(version_dir, name, entry) for name, entry in manifest["files"].items()}
    try:
        return _assemble(manifest, data, version_dir.name)
    except IndexLoadError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError) as e:
        # The checksums matched, so this is an index written wrongly, not damaged on disk: refused all the same.
        raise _damaged(f"内容不一致（{type(e).__name__}: {e}）") from e


def _assemble(manifest: dict, data: dict[str, bytes], version: str) -> StoredIndex:
    counts = manifest["counts"]
    arrays = {name: _array(data[f"{name}.npy"], name, manifest["arrays"][name]) for name in _ARRAYS}
    try:
        notices_raw = json.loads(bytes(data["notices.json"]).decode("utf-8"))
        vocabulary = json.loads(bytes(data["vocabulary.json"]).decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _damaged(f"notices.json 或 vocabulary.json 无法解析（{e}）") from e
    if not (isinstance(notices_raw, list) and len(notices_raw) == counts["notices"]
            and all(isinstance(r, dict) for r in notices_raw)):
        raise _damaged("notices.json 与记录的通知数量不符")
    if not (isinstance(vocabulary, list) and len(vocabulary) == counts["terms"]
            and all(isinstance(t, str) for t in vocabulary)):
        raise _damaged("vocabulary.json 与记录的词数不符")

    n_terms, n_clauses, n_notices = counts["terms"], counts["clauses"], counts["notices"]
    offsets = arrays["clause_offsets"]
    if (len(offsets) != n_clauses + 1 or int(offsets[0]) != 0 or int(offsets[-1]) != len(data["clauses.jsonl"])
            or (n_clauses and int(np.min(np.diff(offsets))) <= 0)):
        raise _damaged("clauses.jsonl 与条款数量不一致")
    clause_notice = arrays["clause_notice"]
    if (len(arrays["tf_indptr"]) != n_terms + 1 or len(arrays["idf"]) != n_terms
            or len(arrays["doc_len"]) != n_clauses or len(clause_notice) != n_clauses
            or len(arrays["tf_data"]) != counts["postings"]
            or len(arrays["tf_indices"]) != counts["postings"] or len(arrays["weights"]) != counts["postings"]
            or int(arrays["tf_indptr"][0]) != 0 or int(arrays["tf_indptr"][-1]) != counts["postings"]
            or len(arrays["clause_part_ptr"]) != n_clauses + 1
            or len(arrays["part_ptr"]) != counts["parts"] + 1 or int(arrays["clause_part_ptr"][-1]) != counts["parts"]
            or len(arrays["part_terms"]) != counts["part_terms"]
            or int(arrays["part_ptr"][-1]) != counts["part_terms"]
            or (n_clauses and (int(clause_notice.min()) < 0 or int(clause_notice.max()) >= n_notices
                               or int(np.min(np.diff(clause_notice))) < 0))
            or (counts["postings"] and (int(arrays["tf_indices"].min()) < 0
                                        or int(arrays["tf_indices"].max()) >= n_clauses))
            or (counts["part_terms"] and (int(arrays["part_terms"].min()) < 0
                                          or int(arrays["part_terms"].max()) >= n_terms))):
        raise _damaged("各文件的条目数量不一致")
    try:
        notices = tuple(_notice(r, ()) for r in notices_raw)
    except (KeyError, TypeError) as e:
        raise _damaged(f"notices.json 缺少字段 {e}") from e
    shape = (n_terms, n_clauses)
    return StoredIndex(
        manifest=manifest,
        notices=notices,
        clauses=LazyClauses(data["clauses.jsonl"], offsets),
        vocabulary={t: i for i, t in enumerate(vocabulary)},
        idf=arrays["idf"],
        tf=sparse.csr_matrix((arrays["tf_data"], arrays["tf_indices"], arrays["tf_indptr"]), shape=shape, copy=False),
        weights=sparse.csr_matrix(
            (arrays["weights"], arrays["tf_indices"], arrays["tf_indptr"]), shape=shape, copy=False),
        doc_len=arrays["doc_len"],
        clause_notice=clause_notice,
        part_terms=arrays["part_terms"],
        part_ptr=arrays["part_ptr"],
        clause_part_ptr=arrays["clause_part_ptr"],
        version=version,
    )


def _clause(r: dict) -> Clause:
    return Clause(id=r["id"], doc_id=r["doc_id"], ordinal=r["ordinal"], section=r["section"], heading=r["heading"],
                  text=r["text"], sentences=tuple(r["sentences"]))


def _notice(r: dict, clauses: tuple[Clause, ...]) -> Notice:
    return Notice(id=r["id"], doc_number=r["doc_number"], title=r["title"], issuers=tuple(r["issuers"]),
                  level=r["level"], region=r["region"], region_code=r["region_code"], issued=r["issued"],
                  forwarded_by=r["forwarded_by"], cites=tuple(r["cites"]), source=r["source"], clauses=clauses,
                  mentions=tuple(r.get("mentions", r["cites"])), coverage_year=r.get("coverage_year"),
                  effective=r.get("effective"), repeals=tuple(r.get("repeals", ())))
