"""Places as the asker gives them: a six-digit code (the picker, the cookie) or a name; and the picker's tree."""
from __future__ import annotations

import re

from indexer.regions import NATION, NATIONAL_CODE, PLACEHOLDERS, Divisions, Region

from .records import AmbiguousRegion, UnknownRegion

_NATION_NAMES = ("全国", "国家", "中国", "中华人民共和国")


def resolve_region(value: str | None, divisions: Divisions) -> Region | None:
    """A region from a code (exact), a name, a short name or a path of names ("江西省宜春市袁州区").

    Raises UnknownRegion for no such place, and AmbiguousRegion for a name several places share (朝阳区):
    a place is never picked silently among namesakes.
    """
    value = re.sub(r"\s+", "", value or "")
    if not value:
        return None
    if value in _NATION_NAMES:
        return NATION
    if value.isdigit():
        region = divisions.by_code.get(value) if len(value) == 6 else None
        if region is None:
            raise UnknownRegion(f"无法识别地区代码“{value}”，请填写六位行政区划代码，或省、市、县（区）的名称")
        return region
    namesakes = divisions.namesakes(value)
    if len(namesakes) > 1:
        names = "、".join(f"{divisions.full_name(r)}（{r.code}）" for r in namesakes)
        raise AmbiguousRegion(f"有几个地方都叫“{value}”：{names}，请写明上级地区或使用行政区划代码", tuple(namesakes))
    region = namesakes[0] if namesakes else _path(value, divisions)
    if region is None:
        raise UnknownRegion(f"无法识别地区“{value}”，请填写省、市或县（区）的名称，如“宜春市”“袁州区”")
    return region


def _path(value: str, divisions: Divisions) -> Region | None:
    """A path of names, each inside the one before; every character must belong to a name."""
    i, current = 0, None
    while i < len(value):
        name = next((n for n in divisions.names_at(value, i)
                     if (r := divisions.lookup(n, within=current))
                     and (current is None or current in divisions.chain(r))), None)
        if name is None:
            return None
        current = divisions.lookup(name, within=current)
        i += len(name)
    return current


def chain_codes(region: Region, divisions: Divisions) -> set[str]:
    return {r.code for r in divisions.chain(region)}


def children(parent_code: str | None, divisions: Divisions) -> list[Region]:
    """The divisions under `parent_code`, or the provinces: what the region picker offers."""
    parent_code = parent_code or NATIONAL_CODE
    direct = [r for r in divisions.by_code.values() if r.parent_code == parent_code and r.code != parent_code]
    # A municipality's districts sit under a placeholder prefecture (市辖区): list them directly.
    out = []
    for r in sorted(direct, key=lambda r: r.code):
        if r.name in PLACEHOLDERS:
            out += sorted((c for c in divisions.by_code.values() if c.parent_code == r.code), key=lambda c: c.code)
        else:
            out.append(r)
    return out
