"""Reading a resident's question: script, numerals, place, document number, everyday words, scope.

Everything here is a pure function of the question text (and the optional region the
asker picked); the result says what to search for and where.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from indexer import docnumbers
from indexer.regions import NATION, Divisions, Region, mentions, most_specific, named_places

_NATIONAL_WORDS = re.compile(r"全国|国家(层面|规定|政策|统一|要求)?|国家医保局")
_IN_SCOPE = re.compile(r"居民医保|城乡居民|居民基本医疗|新农合")


@dataclass(frozen=True)
class Question:
    original: str
    text: str  # simplified Chinese, numerals in digits
    region: Region | None
    region_from: str | None  # "param" | "question" | None
    doc_numbers: tuple[str, ...]
    expansions: tuple[str, ...]  # policy terms for the everyday words in the question
    explained: tuple[str, ...]  # the everyday phrases that were mapped
    out_of_scope: str | None  # what to tell the asker, when the topic is outside the notices


@cache
def _opencc():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _opencc().convert(text)


def _data_rows(name: str) -> list[list[str]]:
    text = resources.files("indexer").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def synonyms() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(everyday phrase, policy terms), longest phrase first."""
    rows = [(r[0].strip(), tuple(r[1].split())) for r in _data_rows("synonyms.tsv")]
    return tuple(sorted(rows, key=lambda r: len(r[0]), reverse=True))


@cache
def domain_terms() -> frozenset[str]:
    """Medical-insurance terms: the domain dictionary and every policy term the synonyms map to."""
    from indexer.tokenizer import shared_tokenizer

    text = resources.files("indexer").joinpath("data/domain_dict.txt").read_text(encoding="utf-8")
    words = {line.split()[0] for line in text.splitlines() if line.strip() and not line.startswith("#")}
    words |= {term for _, terms in synonyms() for term in terms}
    tokenizer = shared_tokenizer()
    return frozenset(words | {t for w in words for t in tokenizer.tokens(w) if len(t) > 1})


@cache
def question_words() -> frozenset[str]:
    return frozenset(r[0].strip() for r in _data_rows("question_words.txt"))


@cache
def out_of_scope_topics() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(r[0]), r[1].strip()) for r in _data_rows("out_of_scope.tsv"))


# --- numerals -----------------------------------------------------------------------------------------------

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千万]+")


def cn_to_int(text: str) -> int | None:
    """三 → 3, 十五 → 15, 六十 → 60, 一百二十 → 120, 二〇二三 → 2023; None if not a number."""
    if all(ch in _CN_DIGIT for ch in text) and len(text) > 1:
        return int("".join(str(_CN_DIGIT[ch]) for ch in text))
    total, section, current = 0, 0, None
    for ch in text:
        if ch in _CN_DIGIT:
            current = _CN_DIGIT[ch]
        elif ch in _CN_UNIT:
            unit = _CN_UNIT[ch]
            if unit == 10000:
                total += (section + (current or 0)) * unit
                section = 0
            else:
                section += (current if current is not None else 1) * unit
            current = None
        else:
            return None
    return total + section + (current or 0)


_NUMBER_WORD = re.compile(r"(百分之)?([零〇一二两三四五六七八九十百千万]+)(个月|个|周岁|岁|天|日|年|元|块|倍|次|%)?")


def digits_for_numerals(text: str) -> str:
    """Chinese numerals next to a unit become digits: 三个月 → 3个月, 六十岁 → 60岁, 百分之五十 → 50%."""
    def replace(m: re.Match[str]) -> str:
        percent, number, unit = m.group(1), m.group(2), m.group(3) or ""
        value = cn_to_int(number)
        if value is None or (not unit and not percent):
            return m.group(0)
        if unit == "块":
            unit = "元"
        return f"{value}%" if percent else f"{value}{unit}"
    return _NUMBER_WORD.sub(replace, text)


_DURATION = re.compile(r"(\d+)(个月|周岁|岁|天|日)")


def numeral_equivalents(text: str) -> list[str]:
    """Other spellings the notices use for the quantities in `text`: 3个月 ~ 90天/90日, 60岁 ~ 60周岁, 30天 ~ 30日."""
    out = []
    for m in _DURATION.finditer(text):
        n, unit = int(m.group(1)), m.group(2)
        if unit == "个月":
            out += [f"{n * 30}天", f"{n * 30}日", f"{n}个月"]
        elif unit == "岁":
            out.append(f"{n}周岁")
        elif unit == "天":
            out.append(f"{n}日")
        elif unit == "日":
            out.append(f"{n}天")
    return out


@cache
def _domain_words_longest_first() -> tuple[str, ...]:
    text = resources.files("indexer").joinpath("data/domain_dict.txt").read_text(encoding="utf-8")
    words = {line.split()[0] for line in text.splitlines() if line.strip() and not line.startswith("#")}
    return tuple(sorted(words, key=len, reverse=True))


def _inside_policy_term(text: str, start: int, end: int) -> bool:
    """True when text[start:end] lies inside a longer policy term of the question (住院 in 住院待遇)."""
    for word in _domain_words_longest_first():
        if len(word) <= end - start:
            break
        for m in re.finditer(re.escape(word), text):
            if m.start() <= start and end <= m.end():
                return True
    return False


def _match_synonyms(text: str) -> tuple[list[str], list[str]]:
    """(phrases found, their policy terms); longest phrase first, each stretch of text used once."""
    explained, expansions = [], []
    used = [False] * len(text)
    for phrase, terms in synonyms():
        for m in re.finditer(re.escape(phrase), text):
            if any(used[m.start():m.end()]) or _inside_policy_term(text, m.start(), m.end()):
                continue
            used[m.start():m.end()] = [True] * len(phrase)
            if phrase not in explained:
                explained.append(phrase)
                expansions.extend(terms)
    return explained, expansions


def quantity_spellings(word: str) -> list[str]:
    """The ways the notices may write the quantity `word`: 三个月 → 3个月, 90天, 90日; 一天 → 1天, 1日."""
    digits = digits_for_numerals(word)
    return list(dict.fromkeys(([digits] if digits != word else []) + numeral_equivalents(digits)))


# --- the whole question -------------------------------------------------------------------------------------

def read_question(question: str, divisions: Divisions, region: Region | None = None) -> Question:
    text = to_simplified(question.strip())
    with_digits = digits_for_numerals(text)
    numbers = tuple(dict.fromkeys(n for _, _, n in docnumbers.spans(text)))
    named = mentions(text, divisions)
    from_question = most_specific(named, divisions)
    if from_question is None and _NATIONAL_WORDS.search(text):
        from_question = NATION
    chosen, source = (region, "param") if region is not None else (from_question, "question" if from_question else None)

    explained, expansions = _match_synonyms(text)
    if with_digits != text:
        expansions.extend(t for t in re.findall(r"\d+(?:个月|周岁|岁|天|日|年|元|倍|次|%)?", with_digits))
    expansions.extend(numeral_equivalents(with_digits))

    scope_note = None
    if not _IN_SCOPE.search(text):
        scope_note = next((note for pattern, note in out_of_scope_topics() if pattern.search(text)), None)
    return Question(
        original=question,
        text=text,
        region=chosen,
        region_from=source,
        doc_numbers=numbers,
        expansions=tuple(dict.fromkeys(expansions)),
        explained=tuple(explained),
        out_of_scope=scope_note,
    )


def place_words(question: Question, divisions: Divisions) -> list[str]:
    """The spellings of places named in the question, to keep them out of the clause search."""
    words = [spelling for _, spelling in named_places(question.text, divisions)]
    if _NATIONAL_WORDS.search(question.text):
        words.append("全国")
    return words


_FOLLOW_UP_OPENERS = ("那", "那么", "还有", "另外", "再问", "如果是", "要是")
_FOLLOW_UP_MAX = 16


def is_follow_up(question: str) -> bool:
    """A short question that leans on the one before ("那报销比例呢？", "还有剖宫产呢")."""
    text = to_simplified(question.strip()).rstrip("？?。! ！")
    return len(text) <= _FOLLOW_UP_MAX and (text.startswith(_FOLLOW_UP_OPENERS) or text.endswith("呢"))


def with_context(question: str, previous: str | None) -> str:
    """The question to answer: a follow-up carries the previous question's topic and place along."""
    if previous and previous.strip() and is_follow_up(question):
        return f"{previous.strip()}；{question.strip()}"
    return question
