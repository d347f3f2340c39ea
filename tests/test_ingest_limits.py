"""No input costs gigabytes: file size, PDF pages and inflated bytes are limited, PDFs are parsed in a child
process held to a memory and a time limit, and a file over a limit is reported by name while the rest is indexed."""
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from indexer.loading import CorpusFileError, IngestLimits, read_text
from tests.conftest import CORPUS, ROOT

PDFS = Path(__file__).parent / "fixtures" / "pdf"
MB = 1024 * 1024


def flate_bomb(inflated_mb: int) -> bytes:
    """A zlib stream of `inflated_mb` megabytes of spaces, about a thousandth of that in size: one compressed
    megabyte repeated (each block stands alone after a full flush), then the end and the Adler-32 of the whole."""
    chunk = b" " * MB
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = raw.compress(chunk) + raw.flush(zlib.Z_FULL_FLUSH)
    end = raw.flush(zlib.Z_FINISH)
    adler = 1
    for _ in range(inflated_mb):
        adler = zlib.adler32(chunk, adler)
    return b"\x78\xda" + block * inflated_mb + end + adler.to_bytes(4, "big")


def one_page_pdf(content: bytes, flate: bool = True) -> bytes:
    """A PDF written by hand: one page whose content stream is `content` (FlateDecode when `flate`)."""
    filters = b" /Filter /FlateDecode" if flate else b""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
               b"<< /Length %d%s >>\nstream\n" % (len(content), filters) + content + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.fixture(scope="module")
def bomb_corpus(tmp_path_factory) -> Path:
    """The bundled notices and bomb.pdf: under a megabyte that inflates to 800 MB."""
    corpus = tmp_path_factory.mktemp("bomb") / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "bomb.pdf").write_bytes(one_page_pdf(flate_bomb(800)))
    assert (corpus / "bomb.pdf").stat().st_size < MB
    return corpus


def index_measured(corpus: Path, out: Path, **settings: str) -> tuple[subprocess.CompletedProcess, float]:
    """`policyqa index` run by a parent of its own, which reports the largest resident size of that whole
    process tree (the indexer and its PDF child) from getrusage(RUSAGE_CHILDREN), in MB."""
    script = ("import resource, subprocess, sys\n"
              "r = subprocess.run(sys.argv[1:])\n"
              "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
              "sys.exit(r.returncode)\n")
    result = subprocess.run([sys.executable, "-c", script, sys.executable, "-m", "policyqa_cli", "index",
                             "--corpus", str(corpus), "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, env={**os.environ, **settings})
    *lines, peak = result.stderr.strip().splitlines()
    result.stderr = "\n".join(lines)
    return result, int(peak) / 1024


def _reported(result: subprocess.CompletedProcess, name: str) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    line = next(line for line in result.stderr.splitlines() if line.startswith(f"错误：{name}："))
    assert "通知 9 条" in result.stdout, "the rest is indexed"
    return line


def test_a_pdf_bomb_is_reported_by_name_and_memory_stays_under_the_limit(bomb_corpus, tmp_path):
    result, peak = index_measured(bomb_corpus, tmp_path / "index", POLICYQA_PDF_MEMORY_MB="512")
    line = _reported(result, "bomb.pdf")
    assert "解压后超过 256 MB" in line
    assert peak < 512, f"peak {peak:.0f} MB"


def test_past_the_inflated_limit_the_memory_limit_still_holds(bomb_corpus, tmp_path):
    result, peak = index_measured(bomb_corpus, tmp_path / "index", POLICYQA_PDF_MEMORY_MB="384",
                                  POLICYQA_PDF_MAX_INFLATED_MB="4096")
    line = _reported(result, "bomb.pdf")
    assert "内存上限（384 MB）" in line
    assert peak < 384, f"peak {peak:.0f} MB"


def test_too_many_pages_and_too_slow_are_reported():
    import pdfplumber

    pdf = PDFS / "fujian-2023-78.pdf"
    with pdfplumber.open(pdf) as opened:
        pages = len(opened.pages)
    assert pages >= 2
    with pytest.raises(CorpusFileError, match=f"PDF 页数过多（{pages} 页，上限 {pages - 1} 页）"):
        read_text(pdf, IngestLimits(pdf_max_pages=pages - 1))
    with pytest.raises(CorpusFileError, match=r"PDF 解析超时（超过 0.05 秒）"):
        read_text(pdf, IngestLimits(pdf_timeout_seconds=0.05))
    assert "福建省医疗保障局" in read_text(pdf, IngestLimits(pdf_max_pages=pages)), "within the limits, as before"


def test_a_file_over_the_size_limit_is_skipped_by_name(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "huge.txt").write_text("城乡居民医保" * 200_000, encoding="utf-8")  # 3.6 MB
    result, _ = index_measured(corpus, tmp_path / "index", POLICYQA_MAX_FILE_MB="1")
    assert "文件过大（3.4 MB，上限 1 MB）" in _reported(result, "huge.txt")


def test_a_damaged_pdf_and_a_crashing_parser_are_reported_and_the_next_pdf_still_reads(tmp_path):
    from indexer.loading import CorpusReader

    (tmp_path / "garbage.pdf").write_bytes(b"%PDF-1.4\n" + os.urandom(4000))
    (tmp_path / "inflated.pdf").write_bytes(one_page_pdf(zlib.compress(b"0 0 m " * 10)))
    with CorpusReader() as reader:
        with pytest.raises(CorpusFileError, match="PDF"):
            reader.read_text(tmp_path / "garbage.pdf")
        with pytest.raises(CorpusFileError, match="没有可提取的中文"):
            reader.read_text(tmp_path / "inflated.pdf")
        assert "闽医保〔2023〕78号" in reader.read_text(PDFS / "fujian-2023-78.pdf")


@pytest.mark.parametrize("name, value", [("POLICYQA_PDF_MAX_PAGES", "many"), ("POLICYQA_PDF_MEMORY_MB", "-1"),
                                         ("POLICYQA_MAX_FILE_MB", "0")])
def test_a_bad_limit_setting_is_one_chinese_line(tmp_path, name, value):
    result = subprocess.run([sys.executable, "-m", "policyqa_cli", "index", "--corpus", str(CORPUS), "--out",
                             str(tmp_path / "index")], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, name: value})
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"错误：设置 {name}={value} 不正确")
