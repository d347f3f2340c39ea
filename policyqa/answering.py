"""Answering a question: the clauses that answer it, for the asker's region, with the words to quote.

1. Read the question (understanding.py): script, numerals, place, document number, everyday words.
2. Keep the notices that apply: a named document; else the notices along the region chain
   (county → city → province → 全国); else all of them.
3. Rank clauses by BM25 over the question and its policy terms, then rerank the best by how much
   of the question they cover, as a clause and in their best sentences, with more specific notices
   along the chain ahead of broader ones.
4. Abstain when the best clause covers too little of the question, or the topic is out of scope.
"""
from __future__ import annotations

import bisect
import datetime as dt
import functools
import re
import weakref
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from engine import Hit, Retriever
from indexer.models import Notice
from indexer.regions import NATION, Region
from indexer.resources import CJK

from . import kernels
from .citations import HOTLINE, answer_id, citation
from .in_force import Standing
from .records import Answer, Reply, ReplyPart
from .understanding import (
    Question,
    asked_years,
    asks_something,
    clauses,
    clean,
    last_question,
    quantity_spellings,
    read_question,
    split_message,
    story_and_question,
)

SCOPE = "这里能回答城乡居民医保的参保、缴费、报销待遇、资助参保等问题"
NOT_COVERED = f"抱歉，现有的医保政策文件里没有找到这个问题的答案。{SCOPE}。其他问题请拨打医保服务热线 {HOTLINE} 咨询。"

# Calibrated on tests/data/questions.jsonl (our own questions), see docs/answering.md.
MIN_COVERAGE = 0.3
SUPPORTING_COVERAGE = 0.18  # answers after the first may cover less, as related clauses
STRONG_COVERAGE = 0.75  # covers this much of the question: on topic even without a dictionary term
RERANK_POOL = 40
SPECIFICITY_STEP = 0.15  # each level more specific along the region chain
NATIONAL_PREFERENCE = 0.15  # without any region, the national rule first
WEIGHTS = (0.4, 0.3, 0.3)  # BM25 share, clause coverage, best-passage coverage


@dataclass(frozen=True)
class Concept:
    """One thing the question asks about: a word of it, or an everyday phrase with its policy terms."""

    terms: frozenset[int]  # vocabulary ids that satisfy it; empty for words the notices never use
    weight: float
    domain: bool  # a medical-insurance term (domain dictionary or synonym target), not an everyday word
    told: bool = False  # from the backstory before the question: it steers the ranking, not whether we answer
    weak: bool = False  # an everyday noun's policy terms (学校 → 学籍地): search help, never the whole topic


def _ids(engine: Retriever, terms) -> list[int]:
    return [i for t in terms if (i := engine.term_id(t)) is not None]


# jieba part-of-speech tags of words that can name a topic (nouns, verbal and adjectival nouns). A word no clause
# contains counts against a clause only when it could name what is asked (惠民保, 职工): a filler the notices
# never use (那部分, 拖, 刚) says nothing about which clause answers.
_TOPIC_TAGS = frozenset(["n", "nr", "ns", "nt", "nz", "ng", "nrt", "nrfg", "vn", "an", "eng"])
# Function words (adverbs, prepositions, conjunctions, particles, pronouns, numerals, measure words): never a
# topic, even when a clause happens to contain them (不少, 关于, 以及, 这个).
_FUNCTION_TAGS = frozenset(["d", "p", "c", "u", "uj", "ul", "uz", "ug", "uv", "ud", "r", "rr", "rz", "y", "e", "o", "m",
                            "mq", "q"])
CONTEXT_SHARE = 0.5  # a backstory word counts half as much as a word of the question itself
WEAK_SHARE = 0.5  # an everyday noun (孩子, 医院) counts half as much as a typical word


def _may_name_a_topic(word: str, res) -> bool:
    """Could this word, which no clause contains, be what the question is about?

    A dictionary word: when it is a noun. A word jieba made up from characters (HMM): when one of its dictionary
    pieces is a noun (惠民保 → 惠民) — not for joins like 交了, 是从, 天能 that only glue function characters.
    """
    tags = res.word_tags or {}
    if word in tags:
        return tags[word] in _TOPIC_TAGS
    pieces = [piece for piece in res.tokenizer.pieces(word) if piece != word]
    if pieces and tags.get(pieces[0]) in _FUNCTION_TAGS:
        return False  # 一个人, 每个人, 这种病: a count or a pointer with its noun, not a new topic
    # A noun of two characters or more: 惠民保 (惠民), not 人要 cut out of "一个人要交" (人).
    return any(tags.get(piece) in _TOPIC_TAGS and len(piece) > 1 for piece in pieces)


_HAS_DIGIT = re.compile(r"\d")


def _word_concepts(engine: Retriever, text: str, share: float, seen: set[str],
                   story_only: frozenset[str] = frozenset(), set_aside: frozenset[str] = frozenset()) -> list[Concept]:
    skip = engine.resources.question_words
    concepts = []
    for word, tokens in dict(engine.resources.tokenizer.words(text)).items():
        if word in skip or len(word) < 2 or word in seen:
            continue
        seen.add(word)
        meaning = _word_meaning(engine, word, tuple(tokens))
        if meaning is None:
            continue
        ids, weight, domain = meaning
        # A noun no clause contains, told only in the story before the asking words (保温箱 in "住了几天保温箱，
        # 出生那几天的钱怎么报"), is a detail of the story, not the topic asked about.
        # What the question sets aside ("除了高血压糖尿病，心脑血管病呢") is not what it asks about either.
        # So is a date or a count told there ("是9月交的，交完从哪天开始能用"): what happened, not what is asked.
        told = share < 1 or (word in story_only and (not ids or _HAS_DIGIT.search(word) is not None)) \
            or word in set_aside
        concepts.append(Concept(ids, weight * (CONTEXT_SHARE if told and share == 1 else share), domain, told=told))
    return concepts


def _word_meaning(engine: Retriever, word: str, tokens: tuple[str, ...]) -> tuple[frozenset[int], float, bool] | None:
    """(the term ids that satisfy a question word, its weight, whether it is a medical-insurance term); None for a
    word that names nothing (a function word, or a word no clause contains that cannot name a topic). A function
    of the word and the index only: worked out once per engine."""
    memo = _memo(engine)
    key = ("word", word, tokens)
    if key in memo:
        return memo[key]
    res = engine.resources
    tags = res.word_tags or {}
    meaning = None
    if tags.get(word) not in _FUNCTION_TAGS:
        whole = engine.term_id(word)
        parts = _ids(engine, (t for t in tokens if t != word and len(t) > 1))
        # The word itself, or its telling parts: 特困人员 is also met by 特困供养人员 (特困), not by any 人员.
        ids = [whole] if whole is not None else []
        ids += [i for i in parts if engine.term_weight(i) >= engine.typical_weight()] if ids else parts
        ids += _ids(engine, quantity_spellings(word))
        # A policy term is met by the longer terms that contain it: 个人缴费 by 个人缴费标准, which jieba keeps whole.
        ids += _ids(engine, (res.longer_terms or {}).get(word, ()))
        if ids or _may_name_a_topic(word, res):
            weight = max((engine.term_weight(i) for i in ids), default=engine.typical_weight())
            domain = res.domain_terms
            meaning = frozenset(ids), weight, word in domain or any(t in domain for t in tokens if len(t) > 1)
    memo[key] = meaning
    return meaning


_MEMOS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
MEMO_LIMIT = 50_000  # words and phrases kept per engine: residents' words are many, the memory is not


def _memo(engine: Retriever) -> dict:
    """What words and phrases stand for in `engine`'s vocabulary, kept with the engine (and gone with it); started
    afresh when full."""
    memo = _MEMOS.get(engine)
    if memo is None or len(memo) >= MEMO_LIMIT:
        memo = _MEMOS[engine] = {}
    return memo


# "除了住院以外", "除了高血压糖尿病，": what follows 除了 up to the end of the clause.
_SET_ASIDE = re.compile(r"除了[^，,。；;？?！!]*")


def _concepts(engine: Retriever, question: Question, search_text: str, context_text: str = "") -> list[Concept]:
    res = engine.resources
    plain = search_text
    for phrase in question.explained:
        plain = plain.replace(phrase, " ")
    seen: set[str] = set()
    story, asking = story_and_question(plain)
    words = engine.resources.tokenizer.words
    story_only = frozenset(w for w, _ in words(story)) - {w for w, _ in words(asking)} if story else frozenset()
    aside = " ".join(_SET_ASIDE.findall(search_text))
    rest = _SET_ASIDE.sub(" ", search_text)
    set_aside = frozenset(w for w, _ in words(aside)) - {w for w, _ in words(rest)} if aside else frozenset()
    concepts = _word_concepts(engine, plain, 1.0, seen, story_only, set_aside)
    if context_text:
        concepts += _word_concepts(engine, context_text, CONTEXT_SHARE, seen)
    for phrase in question.explained:
        concepts += _phrase_concept(engine, phrase, told=phrase in aside and phrase not in rest)
    standing = _standing(res, question)
    for phrase in question.told_explained:
        # Who the asker is (退伍, 吃低保, 重度残疾) decides which rule answers "现在还能交吗"; other things told
        # in the story only steer the ranking.
        concepts += _phrase_concept(engine, phrase, told=phrase not in standing)
    return concepts


def _standing(res, question: Question) -> dict[str, tuple[str, ...]]:
    """The phrases of the story that tell the asker's standing (退伍 → 退役军人 退出现役), with their terms."""
    table = res.synonym_terms
    return {p: table.get(p, ()) for p in question.told_explained
            if _groups_in(" ".join((p, *table.get(p, ()))), res.status_groups)}


def _phrase_concept(engine: Retriever, phrase: str, told: bool) -> list[Concept]:
    """The phrase itself where the notices use it too (低收入), and the policy terms it stands for."""
    meaning = _phrase_meaning(engine, phrase)
    if meaning is None:
        return []
    ids, weight, weak = meaning
    return [Concept(ids, weight * (CONTEXT_SHARE if told else 1.0), not weak, told=told, weak=weak)]


def _phrase_meaning(engine: Retriever, phrase: str) -> tuple[frozenset[int], float, bool] | None:
    """(term ids, weight, weak) of an everyday phrase: worked out once per engine."""
    memo = _memo(engine)
    key = ("phrase", phrase)
    if key in memo:
        return memo[key]
    res = engine.resources
    ids: set[int] = set(_ids(engine, [phrase]))
    for term in res.synonym_terms.get(phrase, ()):
        whole = engine.term_id(term)
        ids |= {whole} if whole is not None else _telling_parts(engine, term)
        ids |= set(_ids(engine, (res.longer_terms or {}).get(term, ())))
    meaning = None
    if ids:
        weak = phrase in res.weak_synonyms
        weight = max(engine.term_weight(i) for i in ids)
        weight = WEAK_SHARE * min(weight, engine.typical_weight()) if weak else weight
        meaning = frozenset(ids), weight, weak
    memo[key] = meaning
    return meaning


GENERIC_WEIGHT = 1.0  # a word weighing less than this is in most clauses (待遇, 缴费, 医疗): it tells nothing apart


def _telling_parts(engine: Retriever, term: str) -> set[int]:
    """The words of a policy term the index does not hold whole, without the generic ones when it has others:
    待遇享受 stands for 享受, not for every clause that says 待遇."""
    parts = set(_ids(engine, (t for t in engine.resources.tokenizer.tokens(term) if len(t) > 1)))
    telling = {i for i in parts if engine.term_weight(i) >= GENERIC_WEIGHT}
    return telling or parts


def _coverage(concepts: list[Concept], present: set[int]) -> float:
    total = sum(c.weight for c in concepts)
    if total <= 0:
        return 0.0
    return sum(c.weight for c in concepts if c.terms & present) / total


def _terms_in(engine: Retriever, text: str) -> set[int]:
    return set(_ids(engine, engine.resources.tokenizer.tokens(text)))


_ANY_NUMBER = r"\d"
_AMOUNT = re.compile(r"\d+\s*(?:元|万元)")
# A time told relatively (缴费的次月起享受): it answers "how long" as well as "when".
_RELATIVE_TIME = re.compile(r"次日|当日|当天|之日起|次月|当月|起享受")
_DURATION = re.compile(r"(?<![月\d])\d+\s*(?:天|个月|周)|(?<![月\d])\d+\s*日(?!起)|[一二三四五六七八九十]+个月")
# What kind of figure a question asks for, and how a sentence that gives one looks.
_ANSWER_TYPES = (
    (re.compile(r"多久|多长时间|几天|多少天|(?<!哪)几个月|等多|期限多长|等待期"), _DURATION),  # 哪几个月: which months
    (re.compile(r"什么时候|何时|哪天|哪年|截止|最晚|最迟|几月|哪几个月|征缴期|缴费期"),
     re.compile(rf"\d+\s*月|\d{{4}}\s*年|{_RELATIVE_TIME.pattern}")),  # a date, or one told relatively
    # Not 能报吗 (yes or no), nor 报多少钱/万 (an amount).
    (re.compile(r"最[高多](?:能|可以|可)?报(?!.*(?:比例|百分|几成))"), _AMOUNT),  # a cap: 一年最多（可以）报多少
    (re.compile(r"比例|百分之|百分|几成|报多少(?![钱万元块])"), re.compile(r"\d+(?:\.\d+)?\s*%")),
    # How much is paid towards one's contribution: an amount, or a share of it.
    # (每人补多少, 补多少钱: an amount.)
    (re.compile(r"(?<!人)[补帮]多少(?![钱元万块])"), re.compile(r"\d+\s*(?:元|万元|%)|比例")),
    (re.compile(r"多少[钱元万块]|[交缴补帮给发赔]多少|标准|额度|定额|限额|补助|资助|起付|封顶|最高支付"),
     _AMOUNT),
    (re.compile(r"多少|几"), re.compile(_ANY_NUMBER)),
    # Where to enrol or pay: a place named by what it is to the asker (学籍地, 户籍所在地) or a service point.
    (re.compile(r"在哪|哪里|哪儿|去哪|到哪|哪个地方"), re.compile(r"[籍保住在读]地|窗口|大厅|网点|线上|掌上|网上")),
)
_ANSWER_TYPE_BONUS = 0.1
PAIR_MARGIN = 0.05  # two sentences are quoted together only when they cover more than one of them alone


# A search-box fragment that asks nothing ("2024江西居民医保个人缴费") and names a payment wants its amount.
_NAMES_A_PAYMENT = re.compile(r"缴费$|缴费\s|交费$|交钱$|个人缴费|筹资|财政补助")


def _answer_shape(question_text: str) -> re.Pattern[str] | None:
    shape = next((shape for asks, shape in _ANSWER_TYPES if asks.search(question_text)), None)
    if shape is None and not asks_something(question_text) and _NAMES_A_PAYMENT.search(question_text.strip()):
        return _AMOUNT
    return shape


class _Passages:
    """What each part (heading, sentences) of each clause of a rerank pool meets: concepts and question words.

    One engine call matches the stored term ids of all the pool's parts at once; one compiled pass
    (policyqa/kernels.py) then adds up, in `_coverage`'s order, the coverage of each part, of each two
    neighbouring parts and of each whole clause, and the weight of the question's words in each part and pair.
    """

    def __init__(self, engine: Retriever, pool: list[Hit], concepts: list[Concept], question_terms: set[int]):
        words = sorted(question_terms)
        asked = [j for j, c in enumerate(concepts) if not c.told]
        self.asked = [concepts[j] for j in asked]
        hits, starts = engine.part_hits([hit.row for hit in pool], [c.terms for c in concepts] + [(t,) for t in words])
        self.starts = starts.tolist()  # where each pool clause's parts start: its heading part, then its sentences
        self._hits, self._asked_columns, self._n = hits, asked, len(concepts)
        self._weights = np.array([engine.term_weight(t) for t in words], dtype=np.float64)
        single, single_overlap, pair, pair_overlap, clause_asked, clause, on_topic = kernels.passage_values(
            hits, starts, np.asarray(asked, dtype=np.int64), np.array([c.weight for c in concepts], dtype=np.float64),
            np.array([c.domain for c in concepts], dtype=bool), self._weights)
        self.on_topic = on_topic.tolist()
        self.clause_asked = clause_asked.tolist()
        self.clause = clause.tolist()
        self.single = single, single_overlap  # (coverage, overlap) of each part
        self.pair = pair, pair_overlap  # and of each part with the next
        self._lists: tuple[list[float], ...] | None = None

    def value(self, first: int, last: int) -> tuple[float, float]:
        """(coverage of the asked concepts, weight of the question's words) of parts `first` and `last` together."""
        if self._lists is None:
            self._lists = (*(a.tolist() for a in self.single), *(a.tolist() for a in self.pair))
        single_coverage, single_overlap, pair_coverage, pair_overlap = self._lists
        if first == last:
            return single_coverage[first], single_overlap[first]
        if last == first + 1:
            return pair_coverage[first], pair_overlap[first]
        met, said = self._hits[:, self._asked_columns], self._hits[:, self._n:]
        both = (met[first] | met[last])[None]
        return float(_coverages(self.asked, both)[0]), float((said[first] | said[last]) @ self._weights)


def _coverages(concepts: list[Concept], met: np.ndarray) -> np.ndarray:
    """`_coverage` of each row of `met` (which of `concepts` a text meets), added up in the same order: each
    distinct combination of concepts met is summed once, in Python, as `_coverage` sums it."""
    total = sum(c.weight for c in concepts)
    if total <= 0 or not len(met):
        return np.zeros(len(met), dtype=np.float64)
    n = len(concepts)

    def coverage(key: int) -> float:
        return sum(c.weight for j, c in enumerate(concepts) if key >> j & 1) / total

    if n <= 16:  # the combinations as bits of a small integer (exact in a float), looked up in a table
        keys = (met @ (2.0 ** np.arange(n))).astype(np.intp)
        seen = np.zeros(1 << n, dtype=bool)
        seen[keys] = True
        combinations = np.flatnonzero(seen)
        table = np.empty(1 << n, dtype=np.float64)
        table[combinations] = [coverage(key) for key in combinations.tolist()]
        return table[keys]
    # A long question: the combinations as Python integers.
    keys = np.array([int.from_bytes(row.tobytes(), "little") for row in np.packbits(met, axis=1, bitorder="little")],
                    dtype=object)
    combinations, inverse = np.unique(keys, return_inverse=True)
    return np.asarray([coverage(key) for key in combinations.tolist()], dtype=np.float64)[inverse.reshape(-1)]


_EXACT = 1e-12  # coverages this close to the best are the same figure (summed exactly as best_passage sums them)
_NEAR = 1e-11  # overlaps are added up in another order than best_passage's sets: this close, the same figure


def _best_passages(engine: Retriever, pool: list[Hit], passages: _Passages,
                   shape: re.Pattern[str] | None) -> list[tuple[str, float, float]]:
    """`best_passage` of every clause of the pool, all their candidates valued at once.

    best_passage's scan keeps the first candidate that beats the best so far by more than 1e-9 in coverage, or
    ties it and beats it by more than 1e-9 in overlap. Where the best candidates of a clause stand clear of the
    rest (nothing within 1e-9 of the best coverage, or on a tie of the best overlap, without being the same
    figure), that is the first of the best, found in one compiled pass (kernels.best_quotes). Other clauses are
    scanned.
    """
    out: list[tuple[str, float, float] | None] = [None] * len(pool)
    valued, texts, counts, first_parts, alone_ok, bounds = [], [], [], [], [], []  # alone_ok, bounds: per sentence
    for k, hit in enumerate(pool):
        clause, first, stop = hit.clause, passages.starts[k] + 1, passages.starts[k + 1]
        layout = _sentence_layout(clause.text, clause.sentences, clause.heading) \
            if len(clause.sentences) == stop - first else None
        if layout is None:  # no sentences, or not as indexed: scanned one by one
            out[k] = best_passage(engine, k, clause, passages, shape)
            continue
        valued.append(k)
        texts.append(clause.text)
        counts.append(stop - first)
        first_parts.append(first)
        bounds.append(layout[0])
        alone_ok.extend(layout[1])
    if not valued:
        return out
    # Whether a candidate gives the figure asked for is kept per clause and slot (a sentence alone, or with the
    # next one); the regex runs only where that is not known yet and the bonus could make the candidate best.
    memos = [_figures_given(shape, text, 2 * count) for text, count in zip(texts, counts, strict=True)] \
        if shape is not None else []
    gives = np.concatenate(memos) if memos else np.zeros(0, dtype=np.int8)
    slot0 = [0]
    for count in counts:
        slot0.append(slot0[-1] + 2 * count)
    arrays = (*passages.single, *passages.pair, np.asarray(first_parts, dtype=np.int64),
              np.asarray(counts, dtype=np.int64), np.asarray(alone_ok, dtype=bool))
    while True:
        needed, chosen, plain, unclear = kernels.best_quotes(*arrays, gives, shape is not None, _ANSWER_TYPE_BONUS,
                                                             PAIR_MARGIN, _EXACT, _NEAR)
        if not len(needed):
            break
        for g in needed.tolist():
            c = bisect.bisect_right(slot0, g) - 1
            slot = g - slot0[c]
            sentence, pair = divmod(slot, 2)
            text_bounds = bounds[c]
            found = shape.search(texts[c][text_bounds[sentence][0]:text_bounds[sentence + pair][1]]) is not None
            gives[g] = memos[c][slot] = found
    for c, (k, slot, value, vague) in enumerate(zip(valued, chosen.tolist(), plain.tolist(), unclear.tolist(),
                                                     strict=True)):
        if vague:
            out[k] = best_passage(engine, k, pool[k].clause, passages, shape)
            continue
        sentence, pair = divmod(slot, 2)
        start, end = bounds[c][sentence][0], bounds[c][sentence + pair][1]
        quote = texts[c][start:end].strip()
        if shape is None:
            bonus = False
        elif len(quote) == end - start and gives[slot0[c] + slot] >= 0:
            bonus = gives[slot0[c] + slot] == 1
        else:
            bonus = shape.search(quote) is not None
        out[k] = quote, value + (_ANSWER_TYPE_BONUS if bonus else 0.0), value
    return out


@functools.lru_cache(maxsize=8192)
def _figures_given(shape: re.Pattern[str], text: str, slots: int) -> np.ndarray:
    """For a clause `text`: does each of its candidate quotes give the kind of figure `shape` finds (1, 0; -1 not
    asked yet)? The same sentences of the same clauses come up question after question: worked out once each."""
    return np.full(slots, -1, dtype=np.int8)


@functools.lru_cache(maxsize=8192)
def _sentence_layout(text: str, sentences: tuple[str, ...], heading: str) -> tuple[tuple, tuple] | None:
    """Where each sentence stands in `text`, and whether it may be quoted alone (a run-in heading "新生儿。" may
    not, unless it is the only sentence); None when some sentence is not found in order. A clause's sentences
    are looked up again by every question whose pool it is in, so they are kept for the clauses met lately."""
    spans, pos = [], 0
    for sentence in sentences:
        start = text.find(sentence, pos)
        if start < 0:
            return None
        pos = start + len(sentence)
        spans.append((start, pos))
    if not spans:
        return None
    alone = heading + "。" if heading else None
    if alone is None or len(spans) == 1 or alone not in text:
        return tuple(spans), (True,) * len(spans)
    return tuple(spans), tuple(sentence.strip() != alone for sentence in sentences)


def best_passage(engine: Retriever, k: int, clause, passages: _Passages,
                 shape: re.Pattern[str] | None) -> tuple[str, float, float]:
    """The sentence, or two neighbouring sentences, of the pool's clause `k` that answer the question best; verbatim.

    Sentences are compared by how much of the question they cover; ties go to the one sharing
    more of the question's words, then to the earlier. A run-in heading ("新生儿。") never stands
    alone as the quote, and a question asking for a duration, a date, a rate or an amount (`shape`) prefers a
    sentence that gives one. Returns (quote, its coverage with that bonus, its coverage without).
    Sentence terms come from the index (`passages`): nothing is tokenized here.
    """
    first, end_part = passages.starts[k], passages.starts[k + 1]
    spans, pos = [], 0
    for part, sentence in zip(range(first + 1, end_part), clause.sentences, strict=False):
        start = clause.text.find(sentence, pos)
        if start < 0:
            continue
        spans.append((start, start + len(sentence), part))
        pos = start + len(sentence)
    if not spans:
        return clause.text, passages.clause_asked[k], _coverage(passages.asked, _terms_in(engine, clause.text))

    heading = clause.heading + "。" if clause.heading else None
    best: tuple[float, float, int, int, float] | None = None  # coverage, overlap, start, end, plain coverage

    def better(coverage: float, overlap: float) -> bool:
        return best is None or coverage > best[0] + 1e-9 or (
            abs(coverage - best[0]) <= 1e-9 and overlap > best[1] + 1e-9)

    for i, (start, end, part) in enumerate(spans):
        candidates = []
        if clause.text[start:end].strip() != heading or len(spans) == 1:
            candidates.append((part, start, end, 0.0))
        if i + 1 < len(spans):  # a second sentence only when it adds to the answer
            candidates.append((spans[i + 1][2], start, spans[i + 1][1], PAIR_MARGIN))
        for last, s0, s1, margin in candidates:
            plain, overlap = passages.value(part, last)
            if shape is None:
                coverage = plain - margin
            elif better(plain - margin, overlap) or better((plain + _ANSWER_TYPE_BONUS) - margin, overlap):
                bonus = shape.search(clause.text[s0:s1]) is not None
                coverage = ((plain + _ANSWER_TYPE_BONUS) if bonus else plain) - margin
            else:
                continue  # loses with the bonus and without: no need to look for the figure
            if better(coverage, overlap):
                best = (coverage, overlap, s0, s1, plain)
    _, _, start, end, plain = best  # spans is not empty, so a best was found
    quote = clause.text[start:end].strip()
    return quote, plain + (_ANSWER_TYPE_BONUS if shape and shape.search(quote) else 0.0), plain


def _specificity(notice: Notice, chain: tuple[Region, ...]) -> float:
    if not chain:
        return 1.0 + (NATIONAL_PREFERENCE if notice.level == "national" else 0.0)
    codes = [r.code for r in chain]
    position = codes.index(notice.region_code) if notice.region_code in codes else len(codes) - 1
    return 1.0 + SPECIFICITY_STEP * (len(codes) - 1 - position)


# A document number in any bracket style with up to ten characters of issuer code before it.
_DOC_NUMBER_WITH_ISSUER = re.compile(rf"[{CJK}]{{1,10}}\s*[\[(〔［【]\s*\d{{4}}\s*[\])〕］】]\s*\d+\s*号")


def _search_text(question: Question, text: str | None = None) -> str:
    """The question (or its context) without document numbers, places, the scheme's name and years:
    what the clauses are searched for. Those say which notices apply, not what is asked."""
    text = question.text if text is None else text
    for number in question.doc_numbers:
        text = text.replace(number, " ")
    text = _DOC_NUMBER_WITH_ISSUER.sub(" ", text)
    text = asked_years(text, 0)[1]
    for word in sorted((*question.place_spellings, *question.schemes), key=len, reverse=True):
        text = text.replace(word, " ")
    if question.place_spellings:
        # Which part of the place the asker lives in (辽宁农村的, 宜春城区): the one scheme covers town and country.
        text = _PLACE_KIND.sub(" ", text)
    return text


_PLACE_KIND = re.compile(r"(?<= )(?:农村|乡下|乡里|城里|城区|城镇|村里)(?:户口)?(?:的|人|(?=[，,。；;！!？?\s]|$))"
                         r"(?!低收入|困难)")  # but 城镇低收入家庭 is a group of people


class _Ranked(NamedTuple):  # a tuple: made for every clause of every pool, a frozen dataclass costs twice as much
    hit: Hit
    score: float
    coverage: float
    on_topic: bool  # covers at least one medical-insurance term of the question
    quote: str
    quote_coverage: float = 0.0  # how much of the question the quoted sentences themselves cover


ASKED_SHARE = 0.75  # with a backstory: the share of a clause's coverage that comes from the question itself
OTHER_GROUP_FACTOR = 0.85  # a rule for a group of people the question does not name ranks below the general one
OFF_TOPIC_FACTOR = 0.85  # a clause that names none of the question's topics ranks below the ones that do


def _groups_in(text: str, groups: Iterable[str]) -> set[str]:
    return {g for g in groups if g in text}


def _other_group(quote: str, asked: set[str], any_group: re.Pattern[str]) -> bool:
    """The answering sentence is about a group of people (特困, 学生) and the question names none of its groups.

    `any_group` is `_any_of(groups)`: one regex for "names any group" (it finds a match exactly when some group is in
    the quote), then the few groups the question named: the same as intersecting the quote's groups with them,
    without listing those."""
    return any_group.search(quote) is not None and not any(g in quote for g in asked)


@functools.lru_cache(maxsize=8)
def _any_of(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(map(re.escape, words)) if words else "(?!)")


def _rank(engine: Retriever, question: Question, search_text: str, within: list[Notice] | None,
          chain: tuple[Region, ...]) -> list[_Ranked]:
    context_text = _search_text(question, question.context) if question.context else ""
    concepts = _concepts(engine, question, search_text, context_text)
    if not any(c.terms for c in concepts if not c.weak):
        return []
    asked_concepts = [c for c in concepts if not c.told]
    told_any = len(asked_concepts) < len(concepts)
    skip = engine.resources.question_words
    search_tokens = engine.resources.tokenizer.tokens(search_text)
    asked = [t for t in search_tokens if t not in skip]
    told = [t for t in engine.resources.tokenizer.tokens(context_text) if t not in skip]
    # With a backstory, the question's own words count twice in BM25 (repeats add up, as in rank-bm25).
    standing = [t for terms in _standing(engine.resources, question).values() for t in terms]
    query = " ".join(asked * (2 if told else 1) + told + list(question.expansions) + standing)
    pool = engine.best(query, within=None if within is None else [n.id for n in within], limit=RERANK_POOL)
    if not pool or pool[0].score <= 0:
        return []
    top = pool[0].score
    question_terms = set(_ids(engine, search_tokens))  # _terms_in(engine, search_text), tokenized once
    asked_groups = _groups_in(f"{search_text} {context_text} {' '.join(question.expansions)}", engine.resources.groups)
    passages = _Passages(engine, pool, concepts, question_terms)
    shape = _answer_shape(search_text)
    quotes = _best_passages(engine, pool, passages, shape)
    ranked, specificity, any_group = [], {}, _any_of(engine.resources.groups)
    any_on_topic = any(passages.on_topic)
    for k, hit in enumerate(pool):
        clause_coverage = passages.clause[k]
        # Whether the clause answers at all is judged on the question itself, not on the story told before it.
        asked_coverage = passages.clause_asked[k] if told_any else clause_coverage
        on_topic = passages.on_topic[k]
        # The passage's coverage carries the answer-type bonus: a clause that gives the kind of figure asked for
        # (a date, a rate, an amount) ranks above one that only talks about the same things.
        quote, passage_coverage, quote_plain = quotes[k]
        w_bm25, w_clause, w_passage = WEIGHTS
        if told_any:  # the story helps tell clauses apart, but a clause must first answer the question itself
            clause_coverage = ASKED_SHARE * asked_coverage + (1 - ASKED_SHARE) * clause_coverage
        relevance = w_bm25 * hit.score / top + w_clause * clause_coverage + w_passage * passage_coverage
        if _other_group(quote, asked_groups, any_group):
            relevance *= OTHER_GROUP_FACTOR
        if any_on_topic and not on_topic:
            relevance *= OFF_TOPIC_FACTOR
        # The quote's own words, from the index: jieba never cuts across the 。；！？ that end its sentences.
        quote_coverage = quote_plain if told_any else passage_coverage
        place = (hit.notice.level, hit.notice.region_code)  # all _specificity reads of a notice
        if place not in specificity:
            specificity[place] = _specificity(hit.notice, chain)
        ranked.append(_Ranked(hit, relevance * specificity[place], asked_coverage, on_topic, quote,
                              min(quote_coverage, 1.0)))
    ranked.sort(key=lambda r: (-r.score, r.hit.row))
    return ranked


def _message(q: Question, allowed: list[Notice], answers: list[Answer]) -> str:
    """What to say above the answers: whose rules they are, and where the corpus has none for the place."""
    if q.doc_numbers:
        return f"以下是{'、'.join(dict.fromkeys(a.notice.doc_number for a in answers))}中的相关规定。"
    region = q.region
    if region is None:
        return _differences(answers) or "以下是政策文件中的相关规定。"
    if region == NATION:
        return "以下是国家层面的规定。"
    local_notices = [n for n in allowed if n.level != "national"]
    local_answers = list(dict.fromkeys(a.notice.region for a in answers if a.notice.level != "national"))
    if not local_notices:
        return (f"资料库里没有{region.name}的专门文件，以下是国家层面的规定；"
                f"当地的具体执行办法请咨询当地医保部门或拨打 {HOTLINE}。")
    if not local_answers:
        return f"{region.name}适用的地方文件对此没有专门规定，以下是国家层面的规定。"
    return f"以下是适用于{region.name}的规定（{'、'.join(local_answers)}文件）。"


def _differences(answers: list[Answer]) -> str:
    """Without a region: say so when the answers come from notices of different places."""
    places = list(dict.fromkeys(a.notice.region for a in answers if a.notice.level != "national"))
    if len(places) < 2:
        return ""
    listed = "；".join(f"{a.notice.region}（{a.notice.doc_number}）" for a in answers)
    return f"各地规定不同，以下分别列出：{listed}。告诉我您所在的地区，可以只看当地的规定。"


@dataclass(frozen=True)
class When:
    """The time a question is answered for: today's year (for 今年), an `as_of` date or year, and which notices
    replace which. Without a standing, every notice counts as in force."""

    this_year: int = dt.date.today().year
    as_of: dt.date | int | None = None
    standing: Standing | None = None

    def notices(self, engine: Retriever, asked_years: tuple[int, ...],
                places: Collection[str] | None = None) -> list[Notice]:
        """The notices to answer from: in force at `as_of`, or for the year asked about, or now; of `places`
        (region codes) only, if given."""
        if self.standing is None:
            return [n for n in engine.notices if places is None or n.region_code in places]
        if isinstance(self.as_of, dt.date):
            return self.standing.as_of(self.as_of, places)
        year = self.as_of if isinstance(self.as_of, int) else (asked_years[0] if asked_years else None)
        if year is None:
            return self.standing.current(places)
        years = self.standing.years()
        if years and year < years[0]:
            year = years[0]  # nothing that old here: the nearest year's rule, labelled with its year
        return self.standing.for_year(year, places)


def ask(engine: Retriever, message: str, region: Region | None = None, top_k: int = 3,
        when: When | None = None) -> Reply:
    """Answer a resident's message for `region` (or the place it names), best clauses first.

    A long message with several questions gets one reply part per question; the reply's own fields
    are those of the first part, so a client reading only them still gets a whole answer.
    """
    when = when or When()
    cleaned = clean(message, engine.resources)
    pieces = split_message(cleaned)
    if len(pieces) == 1:
        return _ask_one(engine, message, region, top_k, when, cleaned=cleaned)
    whole = read_question(message, engine.resources, region, this_year=when.this_year)
    if whole.ambiguous:
        return _ambiguous(engine, whole)
    place = whole.region if whole.region is not None else region
    replies = [_ask_one(engine, p.question, place, top_k, when, context=p.context) for p in pieces]
    parts = tuple(ReplyPart(p.question, r) for p, r in zip(pieces, replies, strict=True))
    first = replies[0]
    return Reply(first.answered, first.message, first.region, first.chain, first.answers, parts=parts)


# Asked once when an index is loaded: it takes every compiled loop of the answering (policyqa/kernels.py,
# engine/kernels.py) with this index's array types.
WARM_UP_QUESTION = "孩子刚出生怎么参保，个人一年交多少钱"


def warm_up(engine: Retriever) -> None:
    """Answer one question, so that the compiled loops are loaded (on a fresh checkout, compiled: a few seconds)
    when the index is, not at the first resident's question."""
    ask(engine, WARM_UP_QUESTION)


def _ambiguous(engine: Retriever, q: Question) -> Reply:
    names = "、".join(engine.resources.divisions.full_name(r) for r in q.ambiguous)
    return Reply(False, f"有几个地方都叫这个名字：{names}。请说明是哪一个，或先选择所在地区。", None, (), (),
                 candidates=q.ambiguous)


def _ask_one(engine: Retriever, question: str, region: Region | None, top_k: int, when: When,
             context: str = "", cleaned: str | None = None) -> Reply:
    divisions = engine.resources.divisions
    q = read_question(question, engine.resources, region, context=context, this_year=when.this_year, cleaned=cleaned)
    chain = tuple(divisions.chain(q.region)) if q.region else ()
    if q.ambiguous:
        return _ambiguous(engine, q)
    if q.out_of_scope:
        return Reply(False, f"{q.out_of_scope}{SCOPE}。如有疑问请拨打医保服务热线 {HOTLINE}。", q.region, chain, ())

    if q.doc_numbers:
        named = [n for number in q.doc_numbers if (n := engine.notice(number))]
        if not named:
            missing = "、".join(q.doc_numbers)
            return Reply(False, f"资料库里没有 {missing} 这份文件。{SCOPE}；请核对文号，或拨打 {HOTLINE} 咨询。",
                         q.region, chain, ())
        allowed = named
    else:
        allowed = when.notices(engine, q.years, {r.code for r in chain} if chain else None)

    search_text = _search_text(q)
    everything = len(allowed) == len(engine.notices)
    ranked = _rank(engine, q, search_text, None if everything else allowed, chain)
    best = ranked[0] if ranked else None
    if best is None or best.coverage < MIN_COVERAGE or not (best.on_topic or best.coverage >= STRONG_COVERAGE):
        return Reply(False, NOT_COVERED, q.region, chain, ())
    if not _about_insurance(q) and _names_an_unknown_topic(engine, q, search_text):
        return Reply(False, NOT_COVERED, q.region, chain, ())
    local = _only_local_rule(engine, q, search_text, allowed, best)
    if local:
        return Reply(False, local, q.region, chain, ())
    if _figure_for_another_benefit(engine.resources.benefits, search_text, best.quote):
        return Reply(False, FIGURE_NOT_SET, q.region, chain, ())
    if best.coverage < WEAK_COVERAGE and _lacks_asked_figure(search_text, best.quote):
        return Reply(False, NOT_COVERED, q.region, chain, ())

    answers = [_answer(question, r) for r in _pick(ranked, top_k, diversify=not chain and not q.doc_numbers)]
    return Reply(True, _message(q, allowed, answers) + _year_note(q, answers, when), q.region, chain, tuple(answers))


# A quote that covers less of the question than this, and lacks the kind of figure asked for, is not an answer.
WEAK_COVERAGE = 0.7
FIGURE_NOT_SET = f"这些文件没有写明您问的这一项的具体标准或比例，请咨询当地医保部门或拨打医保服务热线 {HOTLINE}。"
LOCAL_QUOTE_COVERAGE = 0.6  # for a place without its own notice: how much of the question the quote must cover
# A question that really asks for a figure (not one that merely names the payment period).
# "有等待期吗" asks for one too: whether there is a waiting period, and how long, is the same local rule.
_ASKS_FIGURE = re.compile(r"多少|几[天个月年成次号]|多久|多长|哪天|哪号|几月|什么时候|何时|百分之|比例|最多|最高|上限"
                          r"|起付|等待期")
# What only a place's own notice can say: how and where to apply there, whom to call.
_LOCAL_PROCEDURE = re.compile(r"(怎么|如何|去哪|到哪|在哪)(里|儿)?(申请|办理|认定|备案|报|交)|哪些材料|什么材料|带什么|"
                              r"流程|步骤|"
                              r"电话|地址|窗口|小程序|公众号|(?<![a-z])app|网址|经办机构在|"
                              # Rates by hospital level, and whether one must sign up with a clinic: set by each city.
                              r"[一二三]级(医院|定点|医疗机构)|[二三][甲乙]|签约")


_COUNT_IN_A_STORY = re.compile(r"几[天个月年次]")  # 住了几天, 住几个月: often told, not asked


def _figure_questions(text: str) -> list[str]:
    """The clauses of `text` that ask for a figure. A count with 几 asks only where the clause asks nothing else
    and is the last question ("住几个月，慢特病能直接结算吗" asks none; "要等几个月" asks one)."""
    last = last_question(text)
    return [clause for clause in clauses(text) if _ASKS_FIGURE.search(clause)
            and (clause == last or _ASKS_FIGURE.search(_COUNT_IN_A_STORY.sub("", clause)))]


def _asked_shapes(search_text: str) -> list[re.Pattern[str]]:
    """How each figure the question asks for looks in a sentence that gives it (any number does not count)."""
    return [shape for clause in _figure_questions(search_text)
            if (shape := _answer_shape(clause)) is not None and shape.pattern != _ANY_NUMBER]


def _sentences(quote: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。；;])", quote) if s.strip()]


def _only_local_rule(engine: Retriever, q: Question, search_text: str, allowed: list[Notice], best: _Ranked) -> str:
    """For a place without its own notice: a figure or a procedure only its own rules could give.

    The province's or the nation's notice answers what it sets for everyone (the minimum contribution,
    who is subsidised). A city's caps and rates, or how to apply there, it leaves to the city: citing a
    clause without the figure asked for would read as an answer and mislead.
    """
    region = q.region
    if region is None or region == NATION or q.doc_numbers:
        return ""
    own_level = ("city", "county") if region.level in ("city", "county") else ("province", "city", "county")
    if any(n.level in own_level for n in allowed):
        return ""  # the place, or the city it belongs to, has notices of its own here
    shapes = _asked_shapes(search_text)
    # The figure must stand in a sentence about what was asked, not in any sentence of a related clause: the
    # sentence that gives it names the most telling thing asked about (大病保险, not only 比例).
    asked = [c for c in _concepts(engine, q, search_text) if c.terms and not c.told]
    key = max(asked, key=lambda c: c.weight).terms if asked else frozenset()
    sentences = [(s, _terms_in(engine, s)) for s in _sentences(best.quote)]
    # A figure for a group of people the question names (吃低保的, 特困户) stands in a sentence about a group (the
    # notices name them their own way: 低保 are 定额资助参保对象 in Jiangxi): a figure for everyone is not theirs.
    groups = engine.resources.status_groups
    for_group = bool(_groups_in(f"{search_text} {' '.join(q.expansions)}", groups))
    lacks_figure = bool(shapes) and (
        not all(any(shape.search(s) and key & terms for s, terms in sentences) for shape in shapes)
        or for_group and not any(_groups_in(s, groups) for s, _ in sentences if any(p.search(s) for p in shapes))
        or _asked_quote_coverage(engine, q, search_text, best) < LOCAL_QUOTE_COVERAGE)
    if lacks_figure or _LOCAL_PROCEDURE.search(search_text.lower()):
        return (f"资料库里没有{region.name}本地的医保文件，现有文件没有写明{region.name}的具体规定。"
                f"请咨询当地医保经办机构，或拨打医保服务热线 {HOTLINE}。")
    return ""


def _lacks_asked_figure(search_text: str, quote: str) -> bool:
    """The question asks for a figure of some kind (a time, a rate, an amount) and the quote gives none of it."""
    shapes = _asked_shapes(search_text)
    if not shapes or (shapes[0] is _DURATION and _RELATIVE_TIME.search(quote)):
        return False
    return not any(shape.search(quote) for shape in shapes)


def _benefits_named(text: str, benefits: tuple[tuple[str, str], ...]) -> set[str]:
    """The kinds of benefit `text` names; a longer spelling hides the shorter ones inside it."""
    named = set()
    for spelling, benefit in benefits:  # longest first
        if spelling in text:
            named.add(benefit)
            text = text.replace(spelling, " ")
    return named


def _figure_for_another_benefit(benefits: tuple[tuple[str, str], ...], search_text: str, quote: str) -> bool:
    """The question asks a figure for one kind of benefit (门诊慢特病报销比例) and the quote states figures of that
    kind only in sentences about other benefits (住院 … 70%): quoting it would read as the answer."""
    asked = _benefits_named(search_text, benefits)
    if len(asked) != 1:
        return False
    shapes = _asked_shapes(search_text)
    giving = [s for s in _sentences(quote) if any(shape.search(s) for shape in shapes)]
    return bool(giving) and all((named := _benefits_named(s, benefits)) and not named & asked for s in giving)


def _asked_quote_coverage(engine: Retriever, q: Question, search_text: str, best: _Ranked) -> float:
    """How much of the question the quote covers; with a story told before the asking words ("户口迁到淄博，原来的
    地方没交，交了以后从啥时候能用"), the most it covers of the story with the question or of the question alone."""
    story, asking = story_and_question(search_text)
    if not story:
        return best.quote_coverage
    alone = _coverage(_concepts(engine, q, asking), _terms_in(engine, best.quote))
    return max(best.quote_coverage, alone)


# Words that show a question is about medical insurance at all (医保, 报销, 门诊, 药, 参保 …).
_INSURANCE = re.compile(r"[医保药病诊疗险院]|报销|报账|参保|缴费|交费|征缴|待遇|资助")


def _about_insurance(q: Question) -> bool:
    return bool(q.schemes) or bool(_INSURANCE.search(q.context + q.text))


def _names_an_unknown_topic(engine: Retriever, q: Question, search_text: str) -> bool:
    """A noun that no clause contains (幼儿园, 驾照): in a question that says nothing of medical insurance, it is
    what is asked about, and "交多少钱" around it does not make the notices answer it."""
    return any(not c.terms for c in _concepts(engine, q, search_text) if not c.told)


def _year_note(q: Question, answers: list[Answer], when: When) -> str:
    """Which coverage year the rules are for; plainly so when the question asked about another year, and a
    warning when the newest rule here is older than the current year (a newer notice may not be added yet)."""
    years = sorted({a.notice.coverage_year for a in answers if a.notice.coverage_year})
    if not years:
        return ""
    covered = "、".join(f"{y}年度" for y in years)
    other = [y for y in q.years if y not in years]
    if other:
        asked = "、".join(f"{y}年度" for y in other)
        note = f"资料库里没有{asked}的文件；以上是{covered}的规定，不是{asked}的。"
    else:
        note = f"这些是{covered}的规定。"
    if when.as_of is None and max(years) < when.this_year and (not q.years or max(q.years) >= when.this_year):
        note += (f"当地{when.this_year}年度的新文件可能已经发布、但还没有收录，"
                 f"请以当地医保部门的最新规定为准，或拨打医保服务热线 {HOTLINE} 咨询。")
    return note


def _answer(question: str, r: _Ranked) -> Answer:
    return Answer(r.hit.notice, r.hit.clause, r.quote, round(r.score, 6), answer_id(question, r.hit.clause.id),
                  citation(r.hit.notice, r.hit.clause))


def _pick(ranked: list[_Ranked], top_k: int, diversify: bool) -> list[_Ranked]:
    """The best clause first; with no region, the next ones from other places when they are relevant too."""
    chosen: list[_Ranked] = []
    relevant = [r for r in ranked if r.coverage >= MIN_COVERAGE]
    if diversify:
        seen: set[str] = set()
        for r in relevant:
            if r.hit.notice.region_code not in seen:
                chosen.append(r)
                seen.add(r.hit.notice.region_code)
            if len(chosen) == top_k:
                break
    for r in ranked:
        if len(chosen) == top_k:
            break
        if r not in chosen and r.coverage >= SUPPORTING_COVERAGE:
            chosen.append(r)
    return chosen[:1] + sorted(chosen[1:], key=lambda r: -r.score)


def best_in_notice(engine: Retriever, topic: str, notice: Notice) -> Answer | None:
    """The clause of `notice` that answers `topic`, if one covers it: a cell of the comparison page."""
    q = read_question(topic, engine.resources)
    ranked = _rank(engine, q, _search_text(q), [notice], ())
    if not ranked or ranked[0].coverage < MIN_COVERAGE:
        return None
    return _answer(topic, ranked[0])
