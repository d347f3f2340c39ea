"""Document numbers (发文字号, GB/T 9704-2012 §7.2.4): finding and normalising them.

A document number is an issuer code, the year in hexagonal brackets 〔〕 and a
serial: 赣医保发〔2023〕9号. Extracted text spells the brackets many ways
([ ] ［ ］ ( ) 【 】 ﹝ ﹞) and the digits full-width (〔２０２３〕９号), and scatters
spaces and line breaks through it, so every comparison goes through `normalize`,
and every search through `spans`, both over `fold`ed text.
"""
from __future__ import annotations

import re
import unicodedata

_OPEN = "〔[［(（【"
_CLOSE = "〕]］)）】"
_CJK = "\u4e00-\u9fff"
_CJK_CHAR = re.compile(f"[{_CJK}]")


def _fold_table() -> dict[int, str]:
    """Compatibility forms (NFKC) of digits and brackets, one character for one: full-width ０–９ and ［］（）,
    small and vertical forms of 〔〕 (﹝﹞ ︹︺). Only those, so that a position in the folded text is the
    original's."""
    table = {}
    for code in (*range(0xFE10, 0xFE70), *range(0xFF01, 0xFF5F)):
        folded = unicodedata.normalize("NFKC", chr(code))
        if len(folded) == 1 and (folded in "0123456789" or folded in _OPEN + _CLOSE):
            table[code] = folded
    return table


_FOLD = {chr(code): folded for code, folded in _fold_table().items()}
# str.translate looks every character up in the table, which is slow over Chinese text; a character class finds the
# few to fold in C, and each is replaced alone.
_FOLDABLE = re.compile("[" + "".join(re.escape(c) for c in _FOLD) + "]")


def _folded(m: re.Match) -> str:
    return _FOLD[m.group()]


def fold(text: str) -> str:
    """`text` with full-width digits and brackets as their plain forms, every character where it was."""
    return _FOLDABLE.sub(_folded, text)


# The bracketed year and serial; the issuer code before it is found by walking left.
_CORE = re.compile(rf"[{re.escape(_OPEN)}]\s*((?:19|20)[0-9][0-9])\s*[{re.escape(_CLOSE)}]\s*([0-9]{{1,5}})\s*号")

# Words that end just before an issuer code in running text (根据医保发〔2023〕24号).
_LEFT_STOPS = ("根据", "按照", "依据", "依照", "转发", "关于", "印发", "落实", "执行", "贯彻", "参照", "结合", "对照")
_LEFT_STOP_CHARS = set("的和与及对将为按据是在")
_MAX_CODE = 10


def _issuer_code(text: str, end: int) -> tuple[str, int]:
    """The issuer code ending at `end` and where it starts: the CJK run before the bracket, cut after any stop word."""
    positions: list[int] = []
    i = end - 1
    while i >= 0 and len(positions) < _MAX_CODE + 4:
        ch = text[i]
        if ch.isspace():
            i -= 1
            continue  # "医保\n\n发〔2023〕24号": a page break inside the number
        if not _CJK_CHAR.match(ch):
            break
        positions.append(i)
        i -= 1
    positions.reverse()
    code = "".join(text[p] for p in positions)
    cut = max((code.rfind(w) + len(w) for w in _LEFT_STOPS if w in code), default=0)
    cut = max([cut] + [j + 1 for j, ch in enumerate(code) if ch in _LEFT_STOP_CHARS])
    cut = max(cut, len(code) - _MAX_CODE)
    if cut >= len(code):
        return "", end
    return code[cut:], positions[cut]


def spans(text: str, folded: bool = False) -> list[tuple[int, int, str]]:
    """(start, end, normalised number) of every document number in `text`, in order.

    `folded`: `text` needs no folding, as NFKC text does not (each character `fold` changes is a compatibility
    form that NFKC changes the same way); the tokenizer's text is, and folding is most of the time taken here.
    """
    if not folded:
        text = fold(text)
    found = []
    for m in _CORE.finditer(text):
        code, start = _issuer_code(text, m.start())
        if len(code) >= 2:
            found.append((start, m.end(), f"{code}〔{m.group(1)}〕{int(m.group(2))}号"))
    return found


def find_all(text: str) -> list[str]:
    """Every document number in `text`, normalised, in order of appearance (repeats kept)."""
    return [number for _, _, number in spans(text)]


def normalize(raw: str) -> str | None:
    """The canonical spelling of a single document number, or None if `raw` is not one."""
    if not raw.rstrip().endswith("号"):
        return None  # what the match below ends with; every line of a file is asked, and folding costs
    compact = re.sub(r"\s+", "", fold(raw))
    m = re.fullmatch(rf"([{_CJK}]{{2,{_MAX_CODE}}}){_CORE.pattern}", compact)
    if not m:
        return None
    return f"{m.group(1)}〔{m.group(2)}〕{int(m.group(3))}号"


def is_doc_number_line(line: str) -> bool:
    return normalize(line) is not None
