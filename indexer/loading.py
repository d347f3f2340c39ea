"""Reading a corpus file into text: plain text in UTF-8 or GB18030/GBK, or PDF.

Every failure is a CorpusFileError whose message says, in Chinese, what is wrong
with the file, so the indexer can report it by name and go on with the rest. A file
over one of the IngestLimits is such a failure too; PDFs are parsed in a child process
held to a memory and a time limit (indexer/pdf_text.py).
"""
from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

TEXT_SUFFIXES = {".txt", ".text"}
PDF_SUFFIXES = {".pdf"}
IGNORED_NAMES = {"README.md", "readme.md", ".gitkeep"}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_CJK = re.compile(r"[\u4e00-\u9fff]")


class CorpusFileError(ValueError):
    """A corpus file that cannot be read as notices; the message is the reason."""


@dataclass(frozen=True)
class IngestLimits:
    """What reading one corpus file may cost. The command takes them from POLICYQA_* variables (README)."""

    max_file_mb: float = 50.0  # any file larger is not read at all
    pdf_max_pages: int = 300
    pdf_max_inflated_mb: float = 256.0  # what a PDF's compressed streams may inflate to, all together
    pdf_memory_mb: int = 1024  # address space of the process parsing PDFs (RLIMIT_AS)
    pdf_timeout_seconds: float = 120.0  # per PDF


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Every file the indexer must account for, sorted; READMEs and hidden files excepted."""
    return sorted(
        p for p in Path(corpus_dir).rglob("*")
        if p.is_file()
        and p.name not in IGNORED_NAMES
        and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
    )


def file_fingerprint(path: Path) -> dict:
    """Size and SHA-256 of a corpus file, as an index records what it was built from."""
    data = path.read_bytes() if path.is_file() else b""
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def decode_text(data: bytes) -> str:
    """Text from bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (a superset of GBK)."""
    if not data.strip():
        raise CorpusFileError("文件为空")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise CorpusFileError(f"UTF-16 文本无法解码（第 {e.start} 字节）") from e
    if b"\x00" in data:
        raise CorpusFileError("二进制文件（含 NUL 字节），不是文本或 PDF")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise CorpusFileError("编码无法识别：既不是 UTF-8，也不是 GB18030/GBK")
    if len(_CONTROL.findall(text)) > max(3, len(text) // 200):
        raise CorpusFileError("二进制文件（控制字符过多），不是文本")
    if not _CJK.search(text):
        raise CorpusFileError("没有中文内容，不像是通知文本")
    return text


class CorpusReader:
    """Reads corpus files within `limits`; the PDFs of one build share one child process, started on the first
    and ended by close()."""

    def __init__(self, limits: IngestLimits | None = None):
        self.limits = limits or IngestLimits()
        self._pdf = None

    def __enter__(self) -> CorpusReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()
            self._pdf = None

    def read_text(self, path: Path) -> str:
        """The text of one corpus file; raises CorpusFileError with the reason."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in TEXT_SUFFIXES | PDF_SUFFIXES:
            raise CorpusFileError(f"不支持的文件类型“{path.suffix or '无扩展名'}”（支持 .txt 与 .pdf）")
        try:
            size, limit = path.stat().st_size, self.limits.max_file_mb
            if size > limit * 1024 * 1024:
                raise CorpusFileError(f"文件过大（{size / 1024 / 1024:.1f} MB，上限 {limit:g} MB），已跳过")
            if suffix in PDF_SUFFIXES:
                text = self._pdf_child().text(path)
                if not _CJK.search(text):
                    raise CorpusFileError("PDF 中没有可提取的中文文字（可能是扫描件）")
                return text
            return decode_text(path.read_bytes())
        except OSError as e:
            raise CorpusFileError(f"无法读取：{e.strerror or e}") from e

    def _pdf_child(self):
        if self._pdf is None:
            from .pdf_text import PdfChild

            self._pdf = PdfChild(self.limits.pdf_memory_mb, self.limits.pdf_timeout_seconds,
                                 self.limits.pdf_max_pages, self.limits.pdf_max_inflated_mb)
        return self._pdf


def read_text(path: Path, limits: IngestLimits | None = None) -> str:
    """The text of one corpus file; raises CorpusFileError with the reason."""
    with CorpusReader(limits) as reader:
        return reader.read_text(path)
