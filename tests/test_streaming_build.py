"""The streaming build (workers, scratch spools, a layout pass per range of terms) writes the very index the
straightforward pipeline gives: every notice and clause in memory, the tokens counted by bm25.term_matrix."""
import dataclasses
import json
import shutil
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer import assemble, build, merge
from indexer.bm25 import BM25Params, term_matrix, weights
from indexer.build import BuildReport, build_index, clause_parts, read_corpus
from indexer.chunks import _distinct_pairs, count_tokens
from indexer.regions import load_divisions
from indexer.tokenizer import Tokenizer
from tests.index_helpers import current


def reference_index(corpus_dir) -> tuple[dict[str, bytes], dict[str, np.ndarray]]:
    """The files of an index of `corpus_dir`, computed the plain way (what the build did before it streamed)."""
    notices = read_corpus(corpus_dir, BuildReport(), load_divisions())
    clauses = [c for n in notices for c in n.clauses]
    tokenizer = Tokenizer()
    part_tokens = [[tokenizer.tokens(part) for part in clause_parts(c)] for c in clauses]
    matrix = term_matrix([t for part in parts for t in part] for parts in part_tokens)
    idf, w = weights(matrix, BM25Params())
    term_id = {t: i for i, t in enumerate(matrix.vocabulary)}
    part_sets = [sorted({term_id[t] for t in part}) for parts in part_tokens for part in parts]
    lines = [(json.dumps(dataclasses.asdict(c), ensure_ascii=False) + "\n").encode() for c in clauses]
    records = [{k: v for k, v in dataclasses.asdict(n).items() if k != "clauses"} for n in notices]
    row = {n.id: i for i, n in enumerate(notices)}
    files = {
        "notices.json": json.dumps(records, ensure_ascii=False, indent=1).encode(),
        "clauses.jsonl": b"".join(lines),
        "vocabulary.json": json.dumps(list(matrix.vocabulary), ensure_ascii=False).encode(),
    }
    arrays = {
        "tf_indptr": matrix.tf.indptr.astype(np.int64), "tf_indices": matrix.tf.indices.astype(np.int32),
        "tf_data": matrix.tf.data.astype(np.int32), "weights": w.data, "idf": idf,
        "doc_len": matrix.doc_len.astype(np.int32),
        "clause_notice": np.asarray([row[c.doc_id] for c in clauses], dtype=np.int32),
        "part_terms": np.asarray([t for s in part_sets for t in s], dtype=np.int32),
        "part_ptr": np.concatenate([[0], np.cumsum([len(s) for s in part_sets])]).astype(np.int64),
        "clause_part_ptr": np.concatenate([[0], np.cumsum([len(clause_parts(c)) for c in clauses])]).astype(np.int64),
        "clause_offsets": np.concatenate([[0], np.cumsum([len(line) for line in lines])]).astype(np.int64),
    }
    return files, arrays


def assert_index_is(index_dir, expected):
    files, arrays = expected
    version = current(index_dir)
    for name, data in files.items():
        assert (version / name).read_bytes() == data, name
    for name, values in arrays.items():
        stored = np.load(version / f"{name}.npy")
        assert stored.dtype == values.dtype and np.array_equal(stored, values), name


@pytest.fixture
def awkward_corpus(tmp_path, corpus_dir):
    """The bundled corpus, a file that is not a notice, and a shorter copy of a notice read before the full one:
    the copy is dropped, and a word only it holds must not reach the vocabulary."""
    corpus = tmp_path / "corpus"
    shutil.copytree(corpus_dir, corpus)
    text = (corpus_dir / "fujian-2023-78.txt").read_text(encoding="utf-8")
    cut = text.index("三、")
    (corpus / "a-short-copy.txt").write_text(text[:cut] + "四、氪星补贴。\n", encoding="utf-8")
    (corpus / "broken.txt").write_bytes(b"\x00\x01binary")
    return corpus


def test_a_streamed_build_is_the_plain_pipeline_to_the_byte(tmp_path, awkward_corpus, monkeypatch):
    # Everything that streams, made small: spools on disk, several layout passes, reads of a few clauses.
    monkeypatch.setattr(merge, "SPOOL_IN_MEMORY", 1024)
    monkeypatch.setattr(assemble, "PASS_POSTINGS", 300)
    monkeypatch.setattr(assemble, "READ_POSTINGS", 200)
    monkeypatch.setattr(assemble, "READ_BYTES", 5000)
    report = build_index(awkward_corpus, tmp_path / "index")
    assert [p.file for p in report.errors] == ["broken.txt"]
    assert [p.file for p in report.warnings] == ["fujian-2023-78.txt"]
    expected = reference_index(awkward_corpus)
    assert not set(Tokenizer().tokens("氪星补贴")) & set(json.loads(expected[0]["vocabulary.json"]))
    assert_index_is(tmp_path / "index", expected)
    assert report.clauses == len(expected[1]["doc_len"])


@pytest.mark.parametrize("workers", [1, 2])
def test_worker_processes_and_chunks_do_not_change_the_index(tmp_path, awkward_corpus, monkeypatch, workers):
    monkeypatch.setattr(build, "PARALLEL_MIN_BYTES", 0 if workers > 1 else 1 << 40)
    monkeypatch.setattr(build, "_JOB_FILES", 2)
    seen = []
    build_index(awkward_corpus, tmp_path / "index", progress=lambda done, total, stage: seen.append((stage, total)))
    assert_index_is(tmp_path / "index", reference_index(awkward_corpus))
    assert {stage for stage, _ in seen} == {build.READING, build.WRITING}
    assert (build.READING, 7) in seen


def _counted_plainly(clauses):
    vocabulary = sorted({t for parts in clauses for part in parts for t in part})
    term_id = {t: i for i, t in enumerate(vocabulary)}
    postings = [sorted(Counter(term_id[t] for part in parts for t in part).items()) for parts in clauses]
    parts = [sorted({term_id[t] for t in part}) for c in clauses for part in c]
    return vocabulary, postings, parts


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.lists(st.sampled_from(["医保", "参保", "缴费", "元", "380元", "a", "居民"]), max_size=6),
                         max_size=4), max_size=8))
def test_token_counts_are_counts(clauses):
    counts = count_tokens(clauses)
    vocabulary, postings, parts = _counted_plainly(clauses)
    assert list(counts.vocabulary) == vocabulary
    assert counts.doc_len.tolist() == [sum(map(len, c)) for c in clauses]
    assert counts.term_count.tolist() == [len(p) for p in postings]
    pairs = list(zip(counts.post_term.tolist(), counts.post_tf.tolist(), strict=True))
    assert pairs == [x for p in postings for x in p]
    assert counts.part_count.tolist() == [len(c) for c in clauses]
    assert counts.part_len.tolist() == [len(p) for p in parts]
    assert counts.part_term.tolist() == [t for p in parts for t in p]


def test_distinct_pairs_past_the_radix_range_sort_the_same():
    rng = np.random.default_rng(7)
    group = np.sort(rng.integers(0, 50, 2000)).astype(np.int32)
    term = rng.integers(0, 30, 2000).astype(np.int32)
    small = _distinct_pairs(group, term, 50, 30)
    large = _distinct_pairs(group, term, 50, 1 << 20)  # too many terms for a uint16 radix sort
    for a, b in zip(small, large, strict=True):
        assert np.array_equal(a, b)
