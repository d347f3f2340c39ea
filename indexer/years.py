"""Which coverage year (年度) a notice governs, when it takes effect and what it replaces, read from its own words.

Resident insurance runs by calendar year: contributions are collected in the autumn for the next year
(a notice issued in 2023 sets the 2024 coverage year). The clues, strongest first:
1. "2024年度" named in the text;
2. a benefit period "2024年1月1日至2024年12月31日";
3. a collection period ending "…至2023年12月31日" (the year after it);
4. the annual notice's title, "关于做好2023年城乡居民基本医疗保障工作的通知" (the year after it).
"""
from __future__ import annotations

import re
from collections import Counter

_NAMED = re.compile(r"(20\d\d)\s*年度")
_BENEFIT_PERIOD = re.compile(r"(20\d\d)年1月1日至(20\d\d)年12月31日")
_COLLECTION = re.compile(r"征缴期[^。；]{0,40}?至\s*(20\d\d)\s*年\s*12\s*月\s*31\s*日")
_ANNUAL_TITLE = re.compile(r"(20\d\d)年(?:度)?(?:全省|全市|我省|我市)?城乡居民(?:基本)?医疗(?:保障|保险)")


def coverage_year(title: str, text: str) -> int | None:
    """The coverage year a notice governs, or None when it does not say."""
    named = Counter(int(y) for y in _NAMED.findall(text))
    if named:
        return named.most_common(1)[0][0]
    periods = Counter(int(a) for a, b in _BENEFIT_PERIOD.findall(text) if a == b)
    if periods:
        return periods.most_common(1)[0][0]
    collections = [int(y) for y in _COLLECTION.findall(text)]
    if collections:
        return min(collections) + 1
    annual = _ANNUAL_TITLE.search(title) or _ANNUAL_TITLE.search(text)
    return int(annual.group(1)) + 1 if annual else None


_EFFECTIVE = re.compile(r"自\s*(20\d\d)\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日起(?:施行|执行|实施|生效)")
_EFFECTIVE_ON_ISSUE = re.compile(r"自(?:印发|发布|公布)之日起(?:施行|执行|实施|生效)")
# A sentence that retires earlier notices: "……同时废止", "不再执行", "停止执行", "以本通知为准".
_REPEALING = re.compile(r"废止|不再执行|停止执行|同时失效|以本通知为准")


def effective_date(text: str, issued: str | None) -> str | None:
    """The date the notice takes effect (YYYY-MM-DD) where it says so, else None."""
    m = _EFFECTIVE.search(text)
    if m:
        return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    return issued if issued and _EFFECTIVE_ON_ISSUE.search(text) else None


def repealed_numbers(text: str) -> tuple[str, ...]:
    """The document numbers named in the sentences that retire earlier notices."""
    from . import docnumbers

    found: list[str] = []
    for sentence in re.split(r"(?<=[。；;])", text):
        if _REPEALING.search(sentence):
            found += docnumbers.find_all(sentence)
    return tuple(dict.fromkeys(found))
