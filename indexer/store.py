"""The index on disk: plain, versioned files, written whole or not at all.

Layout of an index directory (FORMAT_VERSION 3):
    manifest.json     format name and version, BM25 parameters, counts, the dictionary fingerprint, the corpus
                      files it was built from, and the size of every other file
    notices.json      the notices, without clauses
    clauses.jsonl     one clause a line, in matrix column order
    vocabulary.json   the terms, in matrix row order
    *.npy             the term–clause matrices (CSR parts), idf, clause lengths, the notice
                      of each clause and the term ids of each clause's heading and sentences;
                      loaded memory-mapped, never pickled
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import mmap
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse

from .bm25 import BM25Params
from .models import Clause, Notice

FORMAT_NAME = "policyqa-index"
FORMAT_VERSION = 3  # 3: the manifest records the dictionary that built the index

_ARRAYS = ("tf_indptr", "tf_indices", "tf_data", "weights", "idf", "doc_len", "clause_notice",
           "part_terms", "part_ptr", "clause_part_ptr", "clause_offsets")


class LazyClauses(Sequence):
    """clauses.jsonl, memory-mapped and read a line at a time: loading a million clauses costs nothing."""

    def __init__(self, path: Path, offsets: np.ndarray):
        # The mapping holds its own handle on the file, so it outlives this one.
        with open(path, "rb") as file:
            self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) if offsets[-1] else b""
        self._offsets = offsets
        # Per instance: a class-level cache would keep a replaced index (and its mapping) alive after a reload.
        self._clause = lru_cache(maxsize=4096)(self._read)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def _read(self, i: int) -> Clause:
        start, end = int(self._offsets[i]), int(self._offsets[i + 1])
        return _clause(json.loads(self._map[start:end]))

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._clause(i)


class IndexLoadError(RuntimeError):
    """The index directory is missing, of another format version, or damaged."""


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

    @property
    def params(self) -> BM25Params:
        return BM25Params(**self.manifest["bm25"])

    def clause_rows(self, notice_row: int) -> range:
        """The rows of a notice's clauses: they are contiguous, notices in index order."""
        return range(int(np.searchsorted(self.clause_notice, notice_row, "left")),
                     int(np.searchsorted(self.clause_notice, notice_row, "right")))


def _notice_record(n: Notice) -> dict:
    record = dataclasses.asdict(n)
    record.pop("clauses")
    return record


def _clause_record(c: Clause) -> dict:
    return dataclasses.asdict(c)


def write_index(out_dir: Path, *, notices: list[Notice], clauses: list[Clause], vocabulary: tuple[str, ...],
                arrays: dict[str, np.ndarray], params: BM25Params, corpus: dict, dictionary: str) -> None:
    """Write into a temporary sibling directory, then rename it into place."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building-", dir=out_dir.parent))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the index is for every worker user
        (tmp / "notices.json").write_text(
            json.dumps([_notice_record(n) for n in notices], ensure_ascii=False, indent=1), encoding="utf-8")
        offsets = [0]
        with open(tmp / "clauses.jsonl", "wb") as f:
            for c in clauses:
                line = (json.dumps(_clause_record(c), ensure_ascii=False) + "\n").encode("utf-8")
                f.write(line)
                offsets.append(offsets[-1] + len(line))
        arrays = {**arrays, "clause_offsets": np.asarray(offsets, dtype=np.int64)}
        (tmp / "vocabulary.json").write_text(json.dumps(list(vocabulary), ensure_ascii=False), encoding="utf-8")
        for name in _ARRAYS:
            np.save(tmp / f"{name}.npy", arrays[name], allow_pickle=False)
        files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir())}
        manifest = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "bm25": dataclasses.asdict(params),
            "counts": {"notices": len(notices), "clauses": len(clauses), "terms": len(vocabulary)},
            "corpus": corpus,
            "dictionary": dictionary,
            "files": files,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        _fsync_dir(tmp)
        _swap_into_place(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _fsync_dir(path: Path) -> None:
    for p in path.iterdir():
        with open(p, "rb") as f:
            os.fsync(f.fileno())


def _swap_into_place(tmp: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        os.rename(tmp, out_dir)
        return
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    os.rename(out_dir, old)
    os.rename(tmp, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(index_dir: Path) -> dict:
    path = Path(index_dir) / "manifest.json"
    if not path.exists():
        raise IndexLoadError(f"索引不存在：{index_dir}（缺少 manifest.json），请先运行 policyqa index")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise IndexLoadError(f"索引已损坏：{path} 无法解析（{e}），请重新运行 policyqa index") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise IndexLoadError(f"{index_dir} 不是 policyqa 索引（manifest.json 格式不符）")
    if manifest.get("version") != FORMAT_VERSION:
        raise IndexLoadError(
            f"索引格式版本为 {manifest.get('version')}，本程序需要版本 {FORMAT_VERSION}，请重新运行 policyqa index")
    return manifest


def load_index(index_dir: Path, dictionary: str | None = None) -> StoredIndex:
    """Load and check an index; arrays are memory-mapped. Raises IndexLoadError with the reason.

    `dictionary`, when given, is the fingerprint of the tokenizer's dictionary this process uses: an index
    cut with another dictionary would silently miss words, so it is refused.
    """
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    if dictionary is not None and manifest.get("dictionary") != dictionary:
        raise IndexLoadError("索引是用另一版本的词典建立的，与本程序的分词不一致，请重新运行 policyqa index")
    for name, size in manifest.get("files", {}).items():
        path = index_dir / name
        if not path.exists():
            raise IndexLoadError(f"索引已损坏：缺少文件 {name}，请重新运行 policyqa index")
        if path.stat().st_size != size:
            raise IndexLoadError(f"索引已损坏：{name} 大小与记录不符（可能写入中断），请重新运行 policyqa index")
    try:
        notices_raw = json.loads((index_dir / "notices.json").read_text(encoding="utf-8"))
        vocabulary = json.loads((index_dir / "vocabulary.json").read_text(encoding="utf-8"))
        # Plain ndarray views of the mapped files: the same shared pages, without np.memmap's per-slice overhead.
        arrays = {name: np.load(index_dir / f"{name}.npy", mmap_mode="r", allow_pickle=False).view(np.ndarray)
                  for name in _ARRAYS}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise IndexLoadError(f"索引已损坏：{e}，请重新运行 policyqa index") from e

    n_terms, n_clauses = len(vocabulary), len(arrays["clause_notice"])
    if (len(arrays["clause_offsets"]) != n_clauses + 1
            or int(arrays["clause_offsets"][-1]) != (index_dir / "clauses.jsonl").stat().st_size):
        raise IndexLoadError("索引已损坏：clauses.jsonl 与条款数量不一致，请重新运行 policyqa index")
    clauses = LazyClauses(index_dir / "clauses.jsonl", arrays["clause_offsets"])
    shape = (n_terms, n_clauses)
    if (len(arrays["tf_indptr"]) != n_terms + 1 or len(arrays["idf"]) != n_terms
            or len(arrays["doc_len"]) != n_clauses or len(arrays["clause_notice"]) != n_clauses
            or len(arrays["tf_indices"]) != len(arrays["tf_data"]) or len(arrays["weights"]) != len(arrays["tf_data"])
            or (n_terms and int(arrays["tf_indptr"][-1]) != len(arrays["tf_data"]))
            or len(arrays["clause_part_ptr"]) != n_clauses + 1
            or int(arrays["clause_part_ptr"][-1]) + 1 != len(arrays["part_ptr"])
            or int(arrays["part_ptr"][-1]) != len(arrays["part_terms"])):
        raise IndexLoadError("索引已损坏：各文件的条目数量不一致，请重新运行 policyqa index")

    try:
        notices = tuple(_notice(r, ()) for r in notices_raw)
    except (KeyError, TypeError) as e:
        raise IndexLoadError(f"索引已损坏：notices.json 缺少字段 {e}") from e
    return StoredIndex(
        manifest=manifest,
        notices=notices,
        clauses=clauses,
        vocabulary={t: i for i, t in enumerate(vocabulary)},
        idf=arrays["idf"],
        tf=sparse.csr_matrix(
            (arrays["tf_data"], arrays["tf_indices"], arrays["tf_indptr"]), shape=shape, copy=False
        ),
        weights=sparse.csr_matrix(
            (arrays["weights"], arrays["tf_indices"], arrays["tf_indptr"]), shape=shape, copy=False
        ),
        doc_len=arrays["doc_len"],
        clause_notice=arrays["clause_notice"],
        part_terms=arrays["part_terms"],
        part_ptr=arrays["part_ptr"],
        clause_part_ptr=arrays["clause_part_ptr"],
    )


def _clause(r: dict) -> Clause:
    return Clause(id=r["id"], doc_id=r["doc_id"], ordinal=r["ordinal"], section=r["section"], heading=r["heading"],
                  text=r["text"], sentences=tuple(r["sentences"]))


def _notice(r: dict, clauses: tuple[Clause, ...]) -> Notice:
    return Notice(id=r["id"], doc_number=r["doc_number"], title=r["title"], issuers=tuple(r["issuers"]),
                  level=r["level"], region=r["region"], region_code=r["region_code"], issued=r["issued"],
                  forwarded_by=r["forwarded_by"], cites=tuple(r["cites"]), source=r["source"], clauses=clauses,
                  mentions=tuple(r.get("mentions", r["cites"])), coverage_year=r.get("coverage_year"))
