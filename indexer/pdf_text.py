"""Text from a typeset PDF notice through pdfplumber, in the shape of the text seeds.

Three artifacts of typesetting are undone here:
  * fake bold: headings drawn twice a fraction of a point apart (pdfplumber's dedupe_chars);
  * page numbers ("— 3 —") and running headers and footers, found as lines in the
    top or bottom margin that repeat, digits aside, on most pages;
  * line wrapping: a line that runs to the right margin continues on the next line
    unless that one is indented (a new paragraph, GB/T 9704-2012 §7.3.1: two
    characters of indent). Other line ends become blank-line breaks for text_repair.

A PDF is a program that can ask for anything: a 1 MB file can inflate to gigabytes. So the indexer never
parses one itself: `PdfChild` runs this module as a child process (`python -m indexer.pdf_text`) with an
address-space limit (RLIMIT_AS) and a time limit, which first adds up the inflated size of the file's
Flate streams without holding them and counts its pages, and refuses the file over a limit.
"""
from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
import zlib
from collections import Counter
from pathlib import Path
from statistics import median

from .text_repair import is_page_number

_MARGIN = 0.09  # share of the page height taken as top or bottom margin
MB = 1024 * 1024


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


_STREAM = re.compile(rb"stream\r?\n")


def inflated_size(data: bytes, cap: int) -> int:
    """The bytes the file's Flate streams inflate to, counted a megabyte at a time and given up past `cap`
    (so a bomb costs a megabyte of memory to measure, not what it inflates to)."""
    total = 0
    for m in _STREAM.finditer(data):
        inflater = zlib.decompressobj()
        position = m.end()
        try:
            while position < len(data) and not inflater.eof and total <= cap:
                # Fed a megabyte at a time: what is left over is copied on every call, so it must stay small.
                piece = data[position:position + MB]
                position += len(piece)
                while piece and not inflater.eof and total <= cap:
                    total += len(inflater.decompress(piece, MB))
                    piece = inflater.unconsumed_tail
        except zlib.error:
            continue  # not a Flate stream (an image, "endstream"): only Flate is counted
        if total > cap:
            break
    return total


def _out_of_memory(e: BaseException) -> bool:
    """pdfplumber wraps what pdfminer raises (PdfminerException(e)): a MemoryError may be inside."""
    seen = 0
    while e is not None and seen < 10:
        if isinstance(e, MemoryError):
            return True
        inner = e.args[0] if e.args and isinstance(e.args[0], BaseException) else None
        e, seen = inner or e.__cause__ or e.__context__, seen + 1
    return False


def _page_count(pdf) -> int | None:
    """The page count the document's page tree declares, read before any page is built."""
    from pdfminer.pdftypes import resolve1

    try:
        count = resolve1(resolve1(pdf.doc.catalog.get("Pages")).get("Count"))
    except Exception:  # noqa: BLE001 — a damaged page tree: the pages themselves are counted instead
        return None
    return count if isinstance(count, int) else None


def extract_pdf_text(path: Path, max_pages: int = 0) -> str:
    """The text of a PDF, in this process (the child's side; the indexer goes through PdfChild)."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError

    from .loading import CorpusFileError

    try:
        with pdfplumber.open(path) as pdf:
            declared = _page_count(pdf)
            if max_pages and declared and declared > max_pages:
                raise CorpusFileError(f"PDF 页数过多（{declared} 页，上限 {max_pages} 页）")
            if max_pages and len(pdf.pages) > max_pages:
                raise CorpusFileError(f"PDF 页数过多（{len(pdf.pages)} 页，上限 {max_pages} 页）")
            pages = []
            for page in pdf.pages:
                lines = page.dedupe_chars(tolerance=1).extract_text_lines(strip=True, return_chars=True)
                pages.append((float(page.height), lines))
    except CorpusFileError:
        raise
    except (PDFSyntaxError, ValueError, KeyError, TypeError) as e:
        raise CorpusFileError(f"PDF 无法解析（{type(e).__name__}）") from e
    except Exception as e:  # pdfminer raises many private exception types for damaged files
        if _out_of_memory(e):
            raise MemoryError from e
        if type(e).__module__.startswith(("pdfminer", "pdfplumber", "pypdfium2")):
            raise CorpusFileError(f"PDF 无法解析（{type(e).__name__}）") from e
        raise
    return _lines_to_text(pages)


# --- the child process --------------------------------------------------------------------------------------


class PdfChild:
    """One child process reading PDFs for a build, one file at a time; started on first use, started again
    after a file it could not survive (over the memory limit, over the time limit, crashed)."""

    def __init__(self, memory_mb: int, timeout_seconds: float, max_pages: int, max_inflated_mb: float):
        self.memory_mb, self.timeout, self.max_pages = memory_mb, timeout_seconds, max_pages
        self.max_inflated = int(max_inflated_mb * MB)
        self._proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        return subprocess.Popen([sys.executable, "-m", "indexer.pdf_text", str(self.memory_mb), str(os.getpid())],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0,
                                env=env)

    def text(self, path: Path) -> str:
        """The text of `path`; CorpusFileError (in Chinese) when it is over a limit or cannot be parsed."""
        from .loading import CorpusFileError

        if self._proc is None or self._proc.poll() is not None:
            self._proc = self._start()
        request = {"path": str(Path(path).resolve()), "max_pages": self.max_pages, "max_inflated": self.max_inflated}
        try:
            self._proc.stdin.write((json.dumps(request) + "\n").encode())
            reply = json.loads(self._read_line(time.monotonic() + self.timeout))
        except TimeoutError:
            self.close()
            raise CorpusFileError(f"PDF 解析超时（超过 {self.timeout:g} 秒），已跳过") from None
        except (OSError, EOFError, ValueError):
            self.close()
            raise CorpusFileError(f"PDF 解析进程异常退出（可能超出内存上限 {self.memory_mb} MB），已跳过") from None
        if "error" in reply:
            raise CorpusFileError(reply["error"])
        return reply["text"]

    def _read_line(self, deadline: float) -> bytes:
        buffer = bytearray()
        fd = self._proc.stdout.fileno()
        while (end := buffer.find(b"\n")) < 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(fd, MB)
            if not chunk:
                raise EOFError
            buffer += chunk
        return bytes(buffer[:end])

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            for pipe in (self._proc.stdin, self._proc.stdout):
                pipe.close()
            self._proc = None


def _serve(memory_mb: int) -> None:
    """The child's side: one JSON request a line on stdin, one JSON reply a line on stdout."""
    import logging
    import resource

    from .loading import CorpusFileError

    limit = memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))  # hard too: nothing parsed here can raise it again
    logging.disable(logging.CRITICAL)  # pdfminer's warnings about damaged files: the reply says what matters
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        request = json.loads(line)
        fatal = False
        try:
            path = Path(request["path"])
            data = path.read_bytes()
            cap = request["max_inflated"]
            if cap and inflated_size(data, cap) > cap:
                raise CorpusFileError(f"PDF 解压后超过 {cap // MB} MB（可能是压缩炸弹），已跳过")
            del data
            reply = {"text": extract_pdf_text(path, request["max_pages"])}
        except CorpusFileError as e:
            reply = {"error": str(e)}
        except MemoryError:
            reply, fatal = {"error": f"PDF 解析超出内存上限（{memory_mb} MB），已跳过"}, True
        except RecursionError:
            reply = {"error": "PDF 结构嵌套过深，无法解析，已跳过"}
        except OSError as e:
            reply = {"error": f"无法读取：{e.strerror or e}"}
        except Exception as e:  # noqa: BLE001 — whatever else a hostile file causes is that file's problem
            reply = {"error": f"PDF 无法解析（{type(e).__name__}）"}
        out.write((json.dumps(reply, ensure_ascii=False) + "\n").encode("utf-8"))
        out.flush()
        if fatal:
            return  # the heap may be in pieces after a MemoryError: the parent starts a fresh child


def _lines_to_text(pages: list[tuple[float, list[dict]]]) -> str:
    def in_margin(line: dict, height: float) -> bool:
        return line["top"] < height * _MARGIN or line["bottom"] > height * (1 - _MARGIN)

    margin_keys = Counter(
        key for height, lines in pages for key in {_key(line["text"]) for line in lines if in_margin(line, height)}
    )
    repeated = {k for k, n in margin_keys.items() if n >= 2 and n >= len(pages) / 2}
    body = [
        [
            line for line in lines
            if not (
                in_margin(line, height)
                and (_key(line["text"]) in repeated or is_page_number(line["text"]) or line["text"].strip().isdigit())
            )
        ]
        for height, lines in pages
    ]
    all_lines = [line for lines in body for line in lines]
    if not all_lines:
        return ""
    char_width = median(c["x1"] - c["x0"] for line in all_lines for c in line["chars"] if not c["text"].isascii()) \
        if any(not c["text"].isascii() for line in all_lines for c in line["chars"]) else 10.0
    left = median(round(line["x0"]) for line in all_lines)
    right = max(line["x1"] for line in all_lines)
    out: list[str] = []
    previous_full = False
    for line in all_lines:
        indented = line["x0"] > left + char_width * 0.9
        if out and previous_full and not indented:
            out[-1] += line["text"]
        else:
            out.append(line["text"])
        previous_full = line["x1"] >= right - char_width * 1.2
    # Paragraphs apart by a blank line, as in text extracted from the same notices.
    return "\n\n".join(out)


if __name__ == "__main__":
    from .procs import die_with_parent

    die_with_parent(int(sys.argv[2]))
    _serve(int(sys.argv[1]))
