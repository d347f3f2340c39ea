"""China's administrative divisions (province, prefecture, county) and region chains.

The table is data/regions.tsv, from the National Bureau of Statistics' division
codes (see its header). A region chain runs from the most specific division up to
the nation: 富顺县 → 自贡市 → 四川省 → 全国.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

NATIONAL_CODE = "100000"  # GB/T 2260 code of the whole country


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: str  # national | province | city | county
    parent_code: str | None


NATION = Region(NATIONAL_CODE, "全国", "national", None)

# Placeholder prefectures that group a municipality's districts or a province's
# directly administered counties; they are not places anyone names.
_PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}

_SUFFIX = re.compile(r"(特别行政区|自治区|自治州|自治县|自治旗|地区|林区|特区|省|市|盟|县|区|旗)$")


@cache
def _ethnic_groups() -> tuple[str, ...]:
    text = resources.files("indexer").joinpath("data/ethnic_groups.txt").read_text(encoding="utf-8")
    groups = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    # Division names use both 维吾尔族 and 维吾尔; longest first so 土家族 goes before 家族-like tails.
    return tuple(sorted({g for name in groups for g in (name, name.removesuffix("族"))}, key=len, reverse=True))


def short_name(name: str) -> str:
    """The name people say: 江西省 → 江西, 恩施土家族苗族自治州 → 恩施, 袁州区 → 袁州."""
    base = _SUFFIX.sub("", name)
    if name.endswith(("自治区", "自治州", "自治县", "自治旗")):
        stripped = True
        while stripped:
            stripped = False
            for group in _ethnic_groups():
                if base.endswith(group) and len(base) - len(group) >= 2:
                    base, stripped = base[: -len(group)], True
                    break
    return base if len(base) >= 2 else name


class Divisions:
    """Lookup over the division table: by code, by full or short name, and up the chain."""

    def __init__(self, rows: list[Region]):
        self.by_code = {r.code: r for r in rows}
        self.by_code[NATIONAL_CODE] = NATION
        self.by_name: dict[str, list[Region]] = {}
        for r in rows:
            if r.name in _PLACEHOLDERS:
                continue
            for key in {r.name, short_name(r.name)}:
                self.by_name.setdefault(key, []).append(r)
        # Longest names first, so 宜春市 wins over 宜春 and 辉县市 over 辉县.
        self.names = sorted(self.by_name, key=len, reverse=True)

    def chain(self, region: Region) -> list[Region]:
        """region, its parents, and the nation: most specific first."""
        out: list[Region] = []
        node: Region | None = region
        while node is not None and node.code != NATIONAL_CODE:
            if node.name not in _PLACEHOLDERS:
                out.append(node)
            node = self.by_code.get(node.parent_code or "")
        out.append(NATION)
        return out

    def lookup(self, name: str, within: Region | None = None) -> Region | None:
        """The division called `name`; among namesakes, the one inside `within`, else the highest level."""
        candidates = self.by_name.get(name, [])
        if not candidates:
            return None
        if within is not None:
            inside = [c for c in candidates if within in self.chain(c)]
            candidates = inside or candidates
        order = {"province": 0, "city": 1, "county": 2}
        return min(candidates, key=lambda r: (order[r.level], r.code))

    def prefix(self, text: str) -> Region | None:
        """The division whose name `text` starts with (自贡市医疗保障局 → 自贡市)."""
        for name in self.names:
            if text.startswith(name) and len(name) >= 2:
                return self.lookup(name)
        return None


@cache
def divisions() -> Divisions:
    text = resources.files("indexer").joinpath("data/regions.tsv").read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        if not line or line.startswith("#") or line.startswith("code\t"):
            continue
        code, name, parent, level = line.split("\t")
        rows.append(Region(code, name, level, parent or NATIONAL_CODE))
    return Divisions(rows)
