"""How a clause is cited and read out, and the one hotline number residents are given."""
from __future__ import annotations

import hashlib
import re

from indexer.models import Clause, Notice

HOTLINE = "12393"  # the national medical-insurance service hotline


def answer_id(question: str, clause_id: str) -> str:
    """Stable for the same question and clause, so feedback on it can be counted together."""
    return hashlib.sha1(f"{question.strip()}\x00{clause_id}".encode()).hexdigest()[:16]


_SECTION_PART = re.compile(r"第[一二三四五六七八九十百零〇两]+条|[一二三四五六七八九十百]+、"
                           r"|（[一二三四五六七八九十]+）|\d+\.|（\d+）")


def section_words(section: str) -> str:
    """三、（四） → 第三条第（四）项: how a clause's place is read out (GB/T 9704-2012 levels: 条, 项, 目, 点)."""
    out = []
    for part in _SECTION_PART.findall(section):
        if part.startswith("第"):
            out.append(part)
        elif part.endswith("、"):
            out.append(f"第{part[:-1]}条")
        elif part.endswith("."):
            out.append(f"第{part[:-1]}目")
        elif part[1].isdigit():
            out.append(f"第{part}点")
        else:
            out.append(f"第{part}项")
    return "".join(out)


def citation(notice: Notice, clause: Clause) -> str:
    """《title》（doc_number）第三条第（四）项 — what hotline staff read out or paste."""
    where = section_words(clause.section) if clause.section else "正文"
    return f"《{notice.title}》（{notice.doc_number}）{where}"
