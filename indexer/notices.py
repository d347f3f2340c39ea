"""Splitting a corpus file into the notices it holds (GB/T 9704-2012 layout).

A file is usually a chain: a city notice forwards a provincial one, which
attaches the national one. Each notice opens with a letterhead (发文机关标志)
and its document number on a line of its own, then its title and addressees
(主送机关); its body runs until end matter (附件, 公开属性, signature, 抄送,
印发) or the next notice's letterhead. The 印发 lines of nested notices often
pile up at the end of the file and are matched to their notice by office name.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from . import docnumbers
from .clauses import split_clauses
from .models import Notice
from .regions import NATION, Divisions
from .text_repair import compact_spaces, is_page_number, join_lines, numbering_marker
from .years import coverage_year, effective_date, repealed_numbers

_CJK = "\u4e00-\u9fff"
# Issuing bodies as they appear in letterheads and signatures.
ORG = re.compile(
    rf"国家税务总局[{_CJK}]{{0,12}}?税务局|国家税务总局|国家医疗保障局|国家医保局|财政部|"
    rf"[{_CJK}]{{2,14}}?(?:医疗保障局|医保局|财政厅|财政局|税务局|人力资源和社会保障厅|人力资源和社会保障局|"
    rf"卫生健康委员会|民政厅|民政局|人民政府办公厅|人民政府办公室|人民政府)"
)
NATIONAL_BODIES = {"国家医疗保障局", "国家医保局", "财政部", "国家税务总局"}
_NOT_IN_LETTERHEAD = re.compile(rf"[^{_CJK}\s、，,]")  # ORG matches CJK only; a letterhead adds only these

_DOC_TYPE_END = re.compile(r"(通知|意见|办法|方案|规定|决定|细则|公告|通告|函|批复|报告|规划|要点)》?(的通知)?$")
_ENDMATTER = re.compile(
    r"^(附\s*件|[（(]\s*(此件)?\s*(主动|依申请|不予)\s*公开\s*[）)]|信息公开|抄\s*送|责任处室|校稿人|联系人|联系电话)"
)
_CN_DIGITS = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")} | {"零": "0", "○": "0", "Ｏ": "0"}
_DATE = re.compile(
    r"^([0-9〇零○Ｏ一二三四五六七八九]{4})\s*年"
    r"\s*([0-9一二三四五六七八九十]{1,3})\s*月"
    r"\s*([0-9一二三四五六七八九十]{1,3})\s*日\s*(印发)?$"
)
_ISSUED_LINE = re.compile(r"^(.*?)\s*([0-9]{4}\s*年\s*[0-9]{1,2}\s*月\s*[0-9]{1,2}\s*日)\s*印发$")
_TITLE_MAX_LINES = 8
_ADDRESSEE_MAX_LINES = 8


class MalformedFile(ValueError):
    """The file holds text, but no notice could be read from it."""


@dataclass
class _Zone:
    """Line ranges of one notice inside a file (indices into the file's lines)."""

    anchor: int
    start: int = 0
    body_start: int = 0
    body_end: int = 0
    end: int = 0
    doc_number: str = ""
    title: str = ""
    issuers: tuple[str, ...] = ()
    signed: str | None = None
    printed: str | None = None
    forwarded_by: str | None = None
    mentions: list[str] = field(default_factory=list)


def _parse_date(text: str) -> str | None:
    m = _DATE.match(text.strip())
    if not m:
        return None
    year = "".join(_CN_DIGITS.get(c, c) for c in m.group(1))
    month, day = (_cn_number(g) for g in m.group(2, 3))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year}-{month:02d}-{day:02d}"


def _cn_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return int(_CN_DIGITS.get(tens, "1") if tens else 1) * 10 + (int(_CN_DIGITS[ones]) if ones else 0)
    return int(_CN_DIGITS.get(text, "0"))


def _is_letterhead(line: str) -> bool:
    """A line made only of issuing bodies and 文件 (发文机关标志)."""
    if _NOT_IN_LETTERHEAD.search(line):
        return False  # ORG is slow to search, and every line of a body is asked
    if not line or not (ORG.search(line) or line.replace(" ", "") == "文件"):
        return False
    rest = re.sub(r"[\s、，,]", "", ORG.sub("", line)).replace("文件", "")
    return rest == ""


def _is_endmatter_start(lines: list[str], i: int) -> bool:
    line = lines[i]
    if _ENDMATTER.match(line) or _DATE.match(line):
        return True
    if _is_letterhead(line):  # a signature: issuing body, then its date
        nxt = next((following for following in lines[i + 1:] if following), "")
        return bool(_DATE.match(nxt))
    return False


def _normal_office(name: str) -> str:
    return name.replace("医疗保障局", "医保局").replace(" ", "")


def doc_id(doc_number: str) -> str:
    """A short, URL-safe id that stays the same as long as the document number does."""
    return hashlib.sha1(doc_number.encode("utf-8")).hexdigest()[:10]


def _find_zones(lines: list[str]) -> list[_Zone]:
    anchors = [i for i, line in enumerate(lines) if line and docnumbers.is_doc_number_line(line)]
    zones = []
    for n, anchor in enumerate(anchors):
        zone = _Zone(anchor=anchor, doc_number=docnumbers.normalize(lines[anchor]) or "")
        floor = anchors[n - 1] + 1 if n else 0
        start = anchor
        i = anchor - 1
        while i >= floor and (not lines[i] or _is_letterhead(lines[i])):
            if lines[i]:
                start = i
            i -= 1
        zone.start = floor if n == 0 else start
        zones.append(zone)
    for zone, nxt in zip(zones, zones[1:] + [None], strict=False):
        zone.end = nxt.start if nxt else len(lines)
    return zones


def _read_head(lines: list[str], zone: _Zone) -> None:
    """Title and addressees after the document number; the body starts after them."""
    i = zone.anchor + 1
    title_lines: list[str] = []
    while i < zone.end and len(title_lines) < _TITLE_MAX_LINES:
        line = lines[i]
        i += 1
        if not line:
            continue
        title_lines.append(line)
        if _DOC_TYPE_END.search(line.replace(" ", "")):
            break
    zone.title = _join_title(title_lines)
    j, seen = i, 0
    while j < zone.end and seen < _ADDRESSEE_MAX_LINES:
        line = lines[j]
        j += 1
        if not line:
            continue
        seen += 1
        if numbering_marker(line):
            break
        if line.endswith(("：", ":")):
            i = j
            break
    zone.body_start = i
    zone.issuers = tuple(dict.fromkeys(
        org for line in lines[zone.start:zone.anchor] if _is_letterhead(line) for org in ORG.findall(line)
    ))


def _join_title(title_lines: list[str]) -> str:
    out = ""
    for line in title_lines:
        sep = " " if out and out[-1] in "局厅部署" else ""
        out += sep + line.strip()
    return compact_spaces(out)


def _read_end(lines: list[str], zone: _Zone) -> None:
    zone.body_end = zone.end
    for i in range(zone.body_start, zone.end):
        if lines[i] and _is_endmatter_start(lines, i):
            zone.body_end = i
            break
    for line in lines[zone.body_end:zone.end]:
        date = _parse_date(line)
        if date and not line.endswith("印发") and zone.signed is None:
            zone.signed = date


def _assign_printed(lines: list[str], zones: list[_Zone]) -> None:
    """Match each "…办公室 2023年7月27日印发" to the notice whose issuer runs that office."""
    for i, line in enumerate(lines):
        m = _ISSUED_LINE.match(line)
        if not m:
            continue
        office = m.group(1) or next((earlier for earlier in reversed(lines[:i]) if earlier), "")
        date = _parse_date(m.group(2))
        own = [z for z in zones if any(_normal_office(office).startswith(_normal_office(org)) for org in z.issuers)]
        if not own:
            own = [z for z in zones if z.start <= i < z.end]
        pending = [z for z in own if z.printed is None]
        if pending:
            before = [z for z in pending if z.start <= i]
            (before[-1] if before else pending[0]).printed = date


def _region(issuers: tuple[str, ...], divisions: Divisions):
    for org in issuers:
        if org in NATIONAL_BODIES:
            continue
        region = divisions.prefix(org.removeprefix("国家税务总局"))
        if region:
            return region
    return NATION if any(org in NATIONAL_BODIES for org in issuers) else None


def parse_file(text: str, source: str, divisions: Divisions) -> list[Notice]:
    """The notices in one corpus file, in file order, with their clauses.

    Raises MalformedFile when no notice (no document number line) is found.
    Citations are kept as found; `link` later keeps the ones in the corpus.
    """
    lines = ["" if is_page_number(line) else line.strip() for line in text.splitlines()]
    zones = _find_zones(lines)
    if not zones:
        raise MalformedFile("未找到发文字号（如“赣医保发〔2023〕9号”单独成行），无法识别通知")
    for zone in zones:
        _read_head(lines, zone)
        _read_end(lines, zone)
        own_text = "".join(lines[zone.anchor + 1:zone.end])
        zone.mentions = [d for d in docnumbers.find_all(own_text) if d != zone.doc_number]
    _assign_printed(lines, zones)
    for n, zone in enumerate(zones[1:], start=1):
        earlier = zones[:n][::-1]
        citing = next((z for z in earlier if zone.doc_number in z.mentions), earlier[0])
        zone.forwarded_by = citing.doc_number

    notices = []
    for zone in zones:
        region = _region(zone.issuers, divisions)
        if region is None:
            issuers = " ".join(zone.issuers) or "无发文机关"
            raise MalformedFile(f"{zone.doc_number}：无法从发文机关识别地区（{issuers}）")
        nid = doc_id(zone.doc_number)
        paragraphs = join_lines(lines[zone.body_start:zone.body_end])
        clauses = split_clauses(nid, paragraphs)
        body = "\n".join(c.heading + c.text for c in clauses)
        notices.append(Notice(
            id=nid,
            doc_number=zone.doc_number,
            title=zone.title,
            issuers=zone.issuers,
            level=region.level,
            region=region.name,
            region_code=region.code,
            issued=zone.signed or zone.printed,
            forwarded_by=zone.forwarded_by,
            cites=tuple(dict.fromkeys(zone.mentions)),
            mentions=tuple(dict.fromkeys(zone.mentions)),
            source=source,
            clauses=clauses,
            coverage_year=coverage_year(zone.title, body),
            effective=effective_date(body, zone.signed or zone.printed),
            repeals=tuple(d for d in repealed_numbers(body) if d != zone.doc_number),
        ))
    return notices
