"""Which notices are in force: newer annual notices supersede older ones, and notices that say so repeal others.

Every autumn each province and city issues its notice for the next coverage year (年度). A newer notice of the same
issuer level and region on the same subject (the annual resident-insurance notice) supersedes the older one; so
does a notice naming another among the ones it replaces ("同时废止", "不再执行", "以本通知为准"). Answers, search and
comparison use the notices in force; a superseded one stays readable, marked with what replaced it.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

from indexer.models import Notice

# The annual resident-insurance notice, and what part of the work it is about ("" for the whole year's work,
# 门诊保障 or 集中征缴 for a notice on one part): "关于做好2023年城乡居民基本医疗保障工作的通知".
_ANNUAL = re.compile(r"(?:城乡居民(?:基本)?医疗(?:保障|保险)|居民医保|基本医疗保障)(.{0,12}?)工作")
_FORWARDED = re.compile(r"《([^《》]*(?:《[^《》]*》[^《》]*)*)》[^《》]*$")


def subject(notice: Notice) -> str | None:
    """Which annual subject a notice is on (a forwarding notice: the one it forwards), None if none."""
    title = notice.title
    forwarded = _FORWARDED.search(title) if title.startswith(("关于转发", "转发")) else None
    m = _ANNUAL.search(forwarded.group(1) if forwarded else title)
    return re.sub(r"^(?:的|有关|相关)+|(?:的|有关|相关)+$", "", m.group(1)) if m else None


def _when(notice: Notice) -> tuple:
    """How new a notice is: its coverage year, then its effective or issue date (unknown dates sort oldest)."""
    return (notice.coverage_year or 0, notice.effective or notice.issued or "")


def _start(notice: Notice) -> str:
    """The day a notice starts to count: its effective date, else its issue date, else the 1st of the year
    before its coverage year (when annual notices are issued), else the beginning of time."""
    if notice.effective or notice.issued:
        return notice.effective or notice.issued or ""
    return f"{notice.coverage_year - 1}-01-01" if notice.coverage_year else ""


def superseded_by(notices: Sequence[Notice]) -> dict[str, Notice]:
    """notice id → the newest notice that replaces it, among `notices`."""
    by_number = {n.doc_number: n for n in notices}
    out: dict[str, Notice] = {}

    def replace(old: Notice, new: Notice) -> None:
        if old.id != new.id and (old.id not in out or _when(new) > _when(out[old.id])):
            out[old.id] = new

    # Same level, same place, same subject: the newest replaces all the others. Grouped, so a national corpus of
    # tens of thousands of notices costs one pass, not a comparison of every pair.
    groups: dict[tuple, list[Notice]] = {}
    for n in notices:
        topic = subject(n)
        if topic is not None:
            groups.setdefault((n.level, n.region_code, topic), []).append(n)
    for group in groups.values():
        newest = max(group, key=_when)
        for old in group:
            if _when(newest) > _when(old):
                replace(old, newest)
    for new in notices:
        for number in new.repeals:
            if number in by_number:
                replace(by_number[number], new)
    return out


_REMEMBERED = 64  # dates and years asked about whose notices in force are kept


@dataclass(frozen=True)
class Standing:
    """The notices and what replaced what; built once per loaded index."""

    notices: tuple[Notice, ...]
    replaced_by: dict[str, Notice]
    in_force: tuple[Notice, ...]  # computed once: every question needs it
    # The notices in force on a date or for a year, as asked lately, with where each place's are among them: at
    # tens of thousands of notices, working that out again for every question would cost more than answering it.
    _then: dict[tuple, _InForce] = field(default_factory=dict, init=False, repr=False, compare=False)
    _years: list[int] = field(default_factory=list, init=False, repr=False, compare=False)  # [0] when none

    @classmethod
    def of(cls, notices: Iterable[Notice]) -> Standing:
        notices = tuple(notices)
        replaced = superseded_by(notices)
        standing = cls(notices, replaced, tuple(n for n in notices if n.id not in replaced))
        for year in standing.years():  # worked out with the index, not by the first question naming each year
            standing.for_year(year)
        return standing

    def current(self, places: Collection[str] | None = None) -> list[Notice]:
        """The notices in force now: none replaces them. Only those of `places` (region codes), if given."""
        return self._remembered(("now",), None, places)

    def as_of(self, day: dt.date, places: Collection[str] | None = None) -> list[Notice]:
        """The notices in force on `day`: already issued (or effective), and not yet replaced by one that was."""
        return self._remembered(("day", day.isoformat()), lambda n: _start(n) <= day.isoformat(), places)

    def for_year(self, year: int, places: Collection[str] | None = None) -> list[Notice]:
        """The notices governing coverage year `year`: those for that year or earlier, newest per place."""
        return self._remembered(("year", year), lambda n: n.coverage_year is None or n.coverage_year <= year, places)

    def _remembered(self, key: tuple, known: Callable[[Notice], bool] | None,
                    places: Collection[str] | None) -> list[Notice]:
        """The notices in force among those `known` then (all, for None), worked out once per `key`; in `places`."""
        then = self._then.get(key)
        if then is None:
            if known is None:
                in_force = self.in_force
            else:
                notices = [n for n in self.notices if known(n)]
                replaced = superseded_by(notices)
                in_force = tuple(n for n in notices if n.id not in replaced)
            if len(self._then) >= _REMEMBERED:
                self._then.clear()
            then = self._then[key] = _InForce(in_force)
        return then.notices(places)

    def years(self) -> list[int]:
        if not self._years:
            self._years[:] = sorted({n.coverage_year for n in self.notices if n.coverage_year}) or [0]
        return [y for y in self._years if y]


@dataclass(frozen=True)
class _InForce:
    in_force: tuple
    _at: dict[str, list[int]] = field(default_factory=dict, repr=False)  # region code → positions in in_force

    def notices(self, places: Collection[str] | None) -> list[Notice]:
        """In order; those of `places` only, if given."""
        if places is None:
            return list(self.in_force)
        if not self._at and self.in_force:
            at: dict[str, list[int]] = {}
            for i, n in enumerate(self.in_force):
                at.setdefault(n.region_code, []).append(i)
            self._at.update(at)
        return [self.in_force[i] for i in sorted(i for code in set(places) for i in self._at.get(code, ()))]


def parse_as_of(value: str | None) -> dt.date | int | None:
    """`as_of` as the API and the CLI take it: a date (2023-10-01) or a coverage year (2024). Raises ValueError."""
    if value is None or not str(value).strip():
        return None
    value = str(value).strip()
    if re.fullmatch(r"(19|20)\d\d", value):
        return int(value)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"时间不正确：“{value}”，请写日期（如 2023-10-01）或年度（如 2024）") from None
