"""China's administrative divisions (province, prefecture, county) and region chains.

The table is data/regions.tsv, from the National Bureau of Statistics' division
codes (see its header). A region chain runs from the most specific division up to
the nation: 富顺县 → 自贡市 → 四川省 → 全国.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .resources import data_lines, data_text

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
PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})

_SUFFIX = re.compile(r"(特别行政区|自治区|自治州|自治县|自治旗|地区|林区|特区|省|市|盟|县|区|旗)$")


def ethnic_groups() -> tuple[str, ...]:
    """The group names autonomous divisions carry, as both 维吾尔族 and 维吾尔; longest first (土家族 before 家族)."""
    groups = data_lines("ethnic_groups.txt")
    return tuple(sorted({g for name in groups for g in (name, name.removesuffix("族"))}, key=len, reverse=True))


def short_name(name: str, groups: tuple[str, ...] = ()) -> str:
    """The name people say: 江西省 → 江西, 恩施土家族苗族自治州 → 恩施, 袁州区 → 袁州."""
    base = _SUFFIX.sub("", name)
    if name.endswith(("自治区", "自治州", "自治县", "自治旗")):
        stripped = True
        while stripped:
            stripped = False
            for group in groups:
                if base.endswith(group) and len(base) - len(group) >= 2:
                    base, stripped = base[: -len(group)], True
                    break
    return base if len(base) >= 2 else name


class Divisions:
    """Lookup over the division table: by code, by full or short name, and up the chain."""

    def __init__(self, rows: list[Region], groups: tuple[str, ...] = (), everyday_words: frozenset[str] = frozenset()):
        self.everyday_words = everyday_words  # short county names that read as ordinary words (通道, 资源)
        self.by_code = {r.code: r for r in rows}
        self.by_code[NATIONAL_CODE] = NATION
        self.by_name: dict[str, list[Region]] = {}
        for r in rows:
            if r.name in PLACEHOLDERS:
                continue
            for key in {r.name, short_name(r.name, groups)}:
                self.by_name.setdefault(key, []).append(r)
        # Longest names first, so 宜春市 wins over 宜春 and 辉县市 over 辉县.
        self.names = sorted(self.by_name, key=len, reverse=True)
        self._by_first: dict[str, list[str]] = {}
        for name in self.names:
            if len(name) >= 2:
                self._by_first.setdefault(name[0], []).append(name)
        # The lengths of the names each character starts, longest first: a position is tried once per length.
        self._lengths_by_first = {ch: sorted({len(n) for n in names}, reverse=True)
                                  for ch, names in self._by_first.items()}

    def longest_name_at(self, text: str, i: int) -> str | None:
        """The longest division name `text` has at position `i` (the first of `names_at`), or None."""
        for length in self._lengths_by_first.get(text[i], ()):
            if text[i:i + length] in self.by_name:
                return text[i:i + length]
        return None

    def names_at(self, text: str, i: int):
        """Division names that `text` has at position `i`, longest first."""
        for name in self._by_first.get(text[i], ()):
            if text.startswith(name, i):
                yield name

    def chain(self, region: Region) -> list[Region]:
        """region, its parents, and the nation: most specific first."""
        out: list[Region] = []
        seen: set[str] = set()
        node: Region | None = region
        while node is not None and node.code != NATIONAL_CODE and node.code not in seen:
            seen.add(node.code)
            if node.name not in PLACEHOLDERS:
                out.append(node)
            node = self.by_code.get(node.parent_code or "")
        out.append(NATION)
        return out

    def namesakes(self, name: str, within: Region | None = None) -> list[Region]:
        """The divisions `name` may mean: those inside `within` if any, else all; only the highest level kept."""
        candidates = self.by_name.get(name, [])
        if within is not None:
            inside = [c for c in candidates if within in self.chain(c)]
            candidates = inside or candidates
        if not candidates:
            return []
        order = {"province": 0, "city": 1, "county": 2}
        top = min(order[r.level] for r in candidates)
        return sorted((r for r in candidates if order[r.level] == top), key=lambda r: r.code)

    def lookup(self, name: str, within: Region | None = None) -> Region | None:
        """The division called `name`; among namesakes, the one inside `within`, else the highest level."""
        candidates = self.namesakes(name, within)
        return candidates[0] if candidates else None

    def full_name(self, region: Region) -> str:
        """吉林省长春市朝阳区: the names along the chain, broadest first (what tells namesakes apart)."""
        return "".join(r.name for r in reversed(self.chain(region)) if r.level != "national")

    def prefix(self, text: str) -> Region | None:
        """The division whose name `text` starts with (自贡市医疗保障局 → 自贡市)."""
        for name in self.names:
            if text.startswith(name) and len(name) >= 2:
                return self.lookup(name)
        return None


# jieba part-of-speech tags of everyday words: a county's short name with one of these
# (通道, 振兴, 资源, 延长, 公安 …) is taken for the word unless the words around it say "place".
_COMMON_WORD_TAGS = frozenset(
    ["n", "v", "vn", "a", "ad", "an", "d", "i", "l", "m", "q", "r", "t", "c", "p", "u", "vd", "f", "s", "b", "z"]
)


def load_divisions(word_tags: dict[str, str] | None = None) -> Divisions:
    """The division table; `word_tags` (jieba's part-of-speech tags) tell which short names are everyday words."""
    rows = []
    for line in data_text("regions.tsv").splitlines():
        if not line or line.startswith("#") or line.startswith("code\t"):
            continue
        code, name, parent, level = line.split("\t")
        rows.append(Region(code, name, level, parent or NATIONAL_CODE))
    groups = ethnic_groups()
    tags = word_tags or {}
    everyday = frozenset(short_name(r.name, groups) for r in rows
                         if r.level == "county" and tags.get(short_name(r.name, groups)) in _COMMON_WORD_TAGS)
    return Divisions(rows, groups, everyday)


# Words that say a place is the asker's own: "我是樟树的", "住在辉县".
_PLACE_BEFORE = ("住在", "我在", "家在", "户口在", "户籍在", "来自", "我是", "老家", "在")
_PLACE_AFTER = ("人", "的人", "户口", "户籍", "居民", "本地", "当地", "这边", "地区", "的")


def mentions(text: str, divisions: Divisions) -> list[Region]:
    """The divisions named in `text`, in order: full names always, short names unless they read as ordinary words."""
    return [region for region, _ in named_places(text, divisions)]


def named_places(text: str, divisions: Divisions, within: Region | None = None,
                 in_word: Callable[[int, int], bool] | None = None) -> list[tuple[Region, str]]:
    """(division, the spelling used) for each place named in `text`, in order; namesakes inside `within` first.

    `in_word(i, j)`: whether text[i:j] belongs to another word there. A short name that does is no place: 医保定点
    is 医保 定点, not 保定 (保定市); a full name (保定市) is a place wherever it stands."""
    found: list[Region] = []
    spellings: list[str] = []
    i = 0
    while i < len(text):
        # Most characters start no name: looked up before asking for the names there.
        match = divisions.longest_name_at(text, i)
        if match is None:
            i += 1
            continue
        region = divisions.lookup(match, within=found[-1] if found else within)
        is_full = region is not None and match == region.name
        county_short = not is_full and all(r.level == "county" for r in divisions.by_name[match])
        accepted = region is not None and (is_full or in_word is None or not in_word(i, i + len(match))) and (
            is_full or not county_short or match not in divisions.everyday_words
            or text[:i].endswith(_PLACE_BEFORE) or text[i + len(match):].startswith(_PLACE_AFTER))
        if accepted:
            found.append(region)
            spellings.append(match)
            i += len(match)
        else:
            i += 1
    return list(zip(found, spellings, strict=True))


def most_specific(regions: list[Region], divisions: Divisions) -> Region | None:
    """The most specific of the mentioned regions; a later mention only wins if it lies inside the earlier ones."""
    best: Region | None = None
    for region in regions:
        if best is None or best in divisions.chain(region):
            best = region
    return best
