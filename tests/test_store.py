"""The index on disk: versioned plain files, written whole or not at all, checked on load."""

import numpy as np
import pytest

from indexer.build import NothingToIndex, build_index, index_is_stale
from indexer.store import FORMAT_VERSION, IndexLoadError, load_index
from tests.index_helpers import current, manifest_of, republish


@pytest.fixture
def built(tmp_path, corpus_dir):
    out = tmp_path / "index"
    build_index(corpus_dir, out)
    return out


def test_index_round_trips_notices_and_clauses(built, notices):
    index = load_index(built)
    assert {n.doc_number for n in index.notices} == set(notices)
    for row, loaded in enumerate(index.notices):
        original = notices[loaded.doc_number]
        assert tuple(index.clauses[r] for r in index.clause_rows(row)) == original.clauses
        assert loaded.forwarded_by == original.forwarded_by


def test_no_pickle_anywhere(built):
    for npy in current(built).glob("*.npy"):
        np.load(npy, allow_pickle=False)  # raises if an array needed pickle
    assert manifest_of(built)["version"] == FORMAT_VERSION


def test_another_format_version_is_refused_with_a_clear_message(built):
    republish(built, lambda manifest: {**manifest, "version": FORMAT_VERSION + 1})
    with pytest.raises(IndexLoadError, match="格式版本"):
        load_index(built)


def test_a_truncated_file_is_reported_as_damage(built):
    weights = current(built) / "weights.npy"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(IndexLoadError, match="损坏.*weights.npy"):
        load_index(built)


def test_garbage_manifest_is_reported(built):
    republish(built, lambda manifest: "{not json")
    with pytest.raises(IndexLoadError, match="不是 policyqa 索引"):
        load_index(built)
    (current(built) / "manifest.json").write_text("{not json")
    with pytest.raises(IndexLoadError, match="损坏"):
        load_index(built)


def test_a_missing_index_says_how_to_build_one(tmp_path):
    with pytest.raises(IndexLoadError, match="policyqa index"):
        load_index(tmp_path / "nowhere")


def test_rebuilding_replaces_the_index_and_leaves_no_temporary_directories(built, corpus_dir):
    before = manifest_of(built)
    first = current(built).name
    build_index(corpus_dir, built)
    assert load_index(built).manifest["counts"] == before["counts"]
    assert [p.name for p in built.parent.iterdir()] == ["index"]
    second = current(built).name
    assert second != first
    assert sorted(p.name for p in built.iterdir()) == sorted([".lock", "CURRENT", first, second])


def test_a_failed_build_leaves_the_old_index_whole(built, tmp_path):
    broken_corpus = tmp_path / "not-a-dir.txt"
    broken_corpus.write_text("x")
    pointer, manifest = (built / "CURRENT").read_text(), (current(built) / "manifest.json").read_text()
    with pytest.raises(NothingToIndex):
        build_index(broken_corpus, built)  # a file where a directory should be
    assert (built / "CURRENT").read_text() == pointer
    assert (current(built) / "manifest.json").read_text() == manifest
    load_index(built)
    assert sorted(p.name for p in built.parent.iterdir()) == ["index", "not-a-dir.txt"]


def test_staleness_follows_the_corpus_files(built, corpus_dir, tmp_path):
    assert not index_is_stale(built, corpus_dir)
    copy = tmp_path / "corpus"
    copy.mkdir()
    for p in corpus_dir.glob("*.txt"):
        (copy / p.name).write_bytes(p.read_bytes())
    assert not index_is_stale(built, copy), "same files, same index"
    (copy / "fujian-2023-78.txt").write_text("改过了", encoding="utf-8")
    assert index_is_stale(built, copy)
    assert index_is_stale(tmp_path / "missing", corpus_dir)


def test_a_corpus_with_no_readable_notice_keeps_the_old_index(built, tmp_path):
    empty = tmp_path / "empty-corpus"
    empty.mkdir()
    (empty / "blank.txt").write_text("")
    with pytest.raises(NothingToIndex, match="blank.txt"):
        build_index(empty, built)
    assert load_index(built).manifest["counts"]["notices"] == 9
