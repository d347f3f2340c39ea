"""Adding or removing a notice gives exactly the index a full rebuild gives, without re-tokenizing the rest."""
import json
import shutil

import numpy as np
import pytest

from indexer.build import build_index
from indexer.incremental import UnknownNotice, update_index
from tests.conftest import run_cli
from tests.index_helpers import current

ARRAYS = ("tf_indptr", "tf_indices", "tf_data", "weights", "idf", "doc_len", "clause_notice", "part_terms", "part_ptr",
          "clause_part_ptr", "clause_offsets")


def assert_same_index(a, b):
    """The contents of the versions served from `a` and `b` (their directory names differ: they carry the time)."""
    a, b = current(a), current(b)
    for name in ("notices.json", "clauses.jsonl", "vocabulary.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    for name in ARRAYS:
        x, y = np.load(a / f"{name}.npy"), np.load(b / f"{name}.npy")
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert np.array_equal(x, y), name
    ma, mb = (json.loads((d / "manifest.json").read_text()) for d in (a, b))
    for key in ("format", "version", "bm25", "counts", "arrays", "files"):
        assert ma[key] == mb[key], key


@pytest.fixture
def corpora(tmp_path, corpus_dir):
    """Two corpus directories: all five files, and all but the Yichun/Jiangxi file."""
    full, partial = tmp_path / "full", tmp_path / "partial"
    shutil.copytree(corpus_dir, full)
    shutil.copytree(corpus_dir, partial)
    (partial / "jiangxi-yichun-2023-25.txt").unlink()
    return full, partial


def test_adding_a_file_equals_a_full_rebuild(tmp_path, corpora, corpus_dir):
    full, partial = corpora
    build_index(full, tmp_path / "rebuilt")
    build_index(partial, tmp_path / "updated")
    report = update_index(tmp_path / "updated", add=[corpus_dir / "jiangxi-yichun-2023-25.txt"])
    assert report.notices == 9
    assert_same_index(tmp_path / "updated", tmp_path / "rebuilt")


def test_removing_notices_equals_a_full_rebuild(tmp_path, corpora):
    full, partial = corpora
    build_index(partial, tmp_path / "rebuilt")
    build_index(full, tmp_path / "updated")
    update_index(tmp_path / "updated", remove=["宜医保字[2023]25号", "赣医保发〔2023〕9号"])
    assert_same_index(tmp_path / "updated", tmp_path / "rebuilt")


def test_citations_follow_what_is_in_the_index(tmp_path, corpora, corpus_dir):
    full, partial = corpora
    (partial / "sichuan-zigong-2023-35.txt").unlink()  # takes the national notice the others cite
    build_index(partial, tmp_path / "index")
    notices = {n["doc_number"]: n for n in json.loads((current(tmp_path / "index") / "notices.json").read_text())}
    assert notices["闽医保〔2023〕78号"]["cites"] == []
    update_index(tmp_path / "index", add=[corpus_dir / "sichuan-zigong-2023-35.txt"])
    notices = {n["doc_number"]: n for n in json.loads((current(tmp_path / "index") / "notices.json").read_text())}
    assert notices["闽医保〔2023〕78号"]["cites"] == ["医保发〔2023〕24号"]


def test_removing_an_unknown_notice_is_refused(tmp_path, corpus_dir):
    build_index(corpus_dir, tmp_path / "index")
    with pytest.raises(UnknownNotice):
        update_index(tmp_path / "index", remove=["京医保发〔2023〕1号"])


def test_the_command_line_adds_and_removes(tmp_path, corpora, corpus_dir):
    full, partial = corpora
    index = tmp_path / "index"
    assert run_cli("index", "--corpus", str(partial), "--out", str(index)).returncode == 0
    added = run_cli("index", "--out", str(index), "--add", str(corpus_dir / "jiangxi-yichun-2023-25.txt"))
    assert added.returncode == 0 and "通知 9 条" in added.stdout
    removed = run_cli("index", "--out", str(index), "--remove", "宜医保字〔2023〕25号")
    assert removed.returncode == 0 and "通知 8 条" in removed.stdout
    missing = run_cli("index", "--out", str(index), "--remove", "京医保发〔2023〕1号")
    assert missing.returncode == 2 and "索引中没有" in missing.stderr
