"""Reading corpus files: encodings detected, bad files reported by name, nothing dropped silently."""
import shutil

import pytest

from indexer.build import BuildReport, read_corpus
from indexer.loading import CorpusFileError, read_text
from indexer.regions import load_divisions
from tests.conftest import run_cli


def test_a_gbk_file_reads_like_its_utf8_original(tmp_path, corpus_dir):
    original = (corpus_dir / "henan-xinxiang-2023-54.txt").read_text(encoding="utf-8")
    (tmp_path / "gbk.txt").write_bytes(original.encode("gbk"))
    assert read_text(tmp_path / "gbk.txt") == original


def test_a_gbk_file_indexes_the_same_notices(tmp_path, corpus_dir):
    shutil.copy(corpus_dir / "jiangxi-yichun-2023-25.txt", tmp_path / "utf8.txt")
    other = tmp_path / "gbk"
    other.mkdir()
    (other / "gbk.txt").write_bytes((tmp_path / "utf8.txt").read_text(encoding="utf-8").encode("gb18030"))
    a, b = read_corpus(tmp_path, BuildReport(), load_divisions()), read_corpus(other, BuildReport(), load_divisions())
    assert [(n.doc_number, n.clauses[1].text) for n in a] == [(n.doc_number, n.clauses[1].text) for n in b]


def test_utf8_with_bom_and_utf16_are_read(tmp_path):
    text = "宜医保字〔2023〕25号\n关于的通知\n"
    (tmp_path / "bom.txt").write_bytes("\ufeff".encode() + text.encode("utf-8"))
    (tmp_path / "u16.txt").write_bytes(text.encode("utf-16"))
    assert read_text(tmp_path / "bom.txt") == text
    assert read_text(tmp_path / "u16.txt") == text


@pytest.mark.parametrize("name, content, reason", [
    ("empty.txt", b"", "文件为空"),
    ("blank.txt", b"  \n\n ", "文件为空"),
    ("binary.txt", bytes(range(256)) * 4, "二进制"),
    ("undecodable.txt", b"\xa1\xff" * 10, "编码无法识别"),
    ("english.txt", b"just some english text\n", "没有中文"),
    ("notes.docx", "通知".encode(), "不支持的文件类型"),
])
def test_bad_files_say_why(tmp_path, name, content, reason):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(CorpusFileError, match=reason):
        read_text(tmp_path / name)


def test_index_reports_each_bad_file_indexes_the_rest_and_exits_nonzero(tmp_path, corpus_dir):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(corpus_dir / "fujian-2023-78.txt", corpus)
    shutil.copy(corpus_dir / "henan-xinxiang-2023-54.txt", corpus)
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (corpus / "no-number.txt").write_text("关于做好医保工作的通知\n\n一、做好参保。\n", encoding="utf-8")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a pdf")

    result = run_cli("index", "--corpus", str(corpus), "--out", str(tmp_path / "index"))

    assert result.returncode == 1
    for name, reason in [("empty.txt", "文件为空"), ("image.txt", "二进制"), ("no-number.txt", "未找到发文字号"),
                         ("broken.pdf", "PDF")]:
        assert any(name in line and reason in line for line in result.stderr.splitlines()), (name, result.stderr)
    assert "文件 6 个" in result.stdout and "出错 4 个" in result.stdout
    assert "通知 2 条" in result.stdout and "条款 24 条" in result.stdout and "秒" in result.stdout
