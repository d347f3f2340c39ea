"""Repairing text extracted from typeset notices: page numbers, spacing, broken lines.

Extraction leaves a notice's paragraphs cut at line and page ends ("覆盖全\\n\\n民"),
page numbers ("— 3 —") between them, and spaces between Chinese text and digits
("2023 年"). These functions undo that; they know nothing about notices.
"""
from __future__ import annotations

import re

CJK = "\u4e00-\u9fff"
_CJK_CHAR = re.compile(rf"[{CJK}]")

# "— 3 —", "-3-", "－ 12 －", "第3页", "第 3 页 共 9 页": page numbers (GB/T 9704-2012 §7.5).
PAGE_NUMBER = re.compile(
    r"^\s*(?:[—–\-－―]+\s*\d{1,4}\s*[—–\-－―]+"
    r"|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?)\s*$"
)

# Numbering levels of GB/T 9704-2012 §7.3.3 (一、 （一） 1. （1）) and articles (第X条).
CN_NUM = "一二三四五六七八九十百零〇两"
MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("article", re.compile(rf"^第([{CN_NUM}]+)条\s*")),
    ("l1", re.compile(rf"^([{CN_NUM}]+)\s*、\s*")),
    ("l2", re.compile(rf"^[（(]\s*([{CN_NUM}]+)\s*[）)]\s*")),
    ("l3", re.compile(r"^(\d{1,2})\s*[.．、](?!\d)\s*")),
    ("l4", re.compile(r"^[（(]\s*(\d{1,2})\s*[）)]\s*")),
)

_ENDS_SENTENCE = re.compile(r"[。！？；：:;!?]$|[。！？!?][”’」』）)]$")
_STANDALONE_HEADING_MAX = 40


def is_page_number(line: str) -> bool:
    return bool(PAGE_NUMBER.match(line))


def numbering_marker(line: str) -> tuple[str, str, int] | None:
    """(level, marker as written, length) of the numbering marker opening `line`, if any."""
    for level, pattern in MARKERS:
        m = pattern.match(line)
        if m:
            return level, m.group(0).strip(), m.end()
    return None


def is_standalone_heading(line: str) -> bool:
    """A numbered heading on a line of its own ("一、准确把握筹资政策"), never joined to what follows."""
    marker = numbering_marker(line)
    if not marker:
        return False
    rest = line[marker[2]:]
    return len(rest) <= _STANDALONE_HEADING_MAX and not re.search(r"[。；;！？]", rest)


def compact_spaces(text: str) -> str:
    """Drop spaces that extraction put inside Chinese text, keep those that separate words.

    Kept: between two Latin words or numbers ("DRG DIP"), and after an issuing body
    in a list of bodies ("国家医保局 财政部"), which is how notices separate them.
    """
    def keep(m: re.Match[str]) -> str:
        before = m.string[m.start() - 1] if m.start() else ""
        after = m.string[m.end()] if m.end() < len(m.string) else ""
        if before.isascii() and after.isascii() and before.isalnum() and after.isalnum():
            return " "
        rest = m.string[m.end():m.end() + 2]
        if before in "局厅部署委" and _CJK_CHAR.match(after or "") and rest not in ("关于", "转发", "文件"):
            return " "
        return ""

    text = re.sub(r"[ \t\u3000\u00a0]+", keep, text.strip())
    return text


def _continues(prev: str, nxt: str) -> bool:
    if _ENDS_SENTENCE.search(prev) or is_standalone_heading(prev):
        return False
    return numbering_marker(nxt) is None


def join_lines(lines: list[str]) -> list[str]:
    """Paragraphs from extracted lines: a line that stops mid-sentence continues on the next.

    Blank lines mark page or block breaks in extracted text and do not by themselves
    end a paragraph ("覆盖全\\n\\n民"). Where a page break repeats the character it
    broke at ("低收入\\n\\n入人口"), the repeat is dropped.
    """
    paragraphs: list[str] = []
    current: str | None = None
    blank_since = False
    for raw in lines:
        line = raw.strip()
        if not line:
            blank_since = True
            continue
        if is_page_number(line):
            continue
        if current is not None and _continues(current, line):
            if blank_since and current[-1] == line[0] and _CJK_CHAR.match(line[0]):
                line = line[1:]
            current = current + line
        else:
            if current is not None:
                paragraphs.append(current)
            current = line
        blank_since = False
    if current is not None:
        paragraphs.append(current)
    return [compact_spaces(p) for p in paragraphs]


_SENTENCE = re.compile(r"[^。！？；!?;]*(?:[。！？；!?;]+[”’」』）)]*|$)")


def sentences(text: str) -> tuple[str, ...]:
    """Sentences for quoting: cut after 。！？ and ；, each a verbatim slice of `text`."""
    parts = [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0)]
    return tuple(p for p in parts if p.strip())
