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

import datetime as dt
import re
from dataclasses import dataclass

from engine import Hit, Retriever
from indexer.models import Notice
from indexer.regions import NATION, Region
from indexer.resources import CJK

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


def _word_concepts(engine: Retriever, text: str, share: float, seen: set[str],
                   story_only: frozenset[str] = frozenset(), set_aside: frozenset[str] = frozenset()) -> list[Concept]:
    res = engine.resources
    skip, domain, tags = res.question_words, res.domain_terms, res.word_tags or {}
    concepts = []
    for word, tokens in dict(res.tokenizer.words(text)).items():
        if word in skip or len(word) < 2 or word in seen:
            continue
        seen.add(word)
        if tags.get(word) in _FUNCTION_TAGS:
            continue
        whole = engine.term_id(word)
        parts = _ids(engine, (t for t in tokens if t != word and len(t) > 1))
        # The word itself, or its telling parts: 特困人员 is also met by 特困供养人员 (特困), not by any 人员.
        ids = [whole] if whole is not None else []
        ids += [i for i in parts if engine.term_weight(i) >= engine.typical_weight()] if ids else parts
        ids += _ids(engine, quantity_spellings(word))
        # A policy term is met by the longer terms that contain it: 个人缴费 by 个人缴费标准, which jieba keeps whole.
        ids += _ids(engine, (res.longer_terms or {}).get(word, ()))
        if not ids and not _may_name_a_topic(word, res):
            continue
        weight = max((engine.term_weight(i) for i in ids), default=engine.typical_weight())
        # A noun no clause contains, told only in the story before the asking words (保温箱 in "住了几天保温箱，
        # 出生那几天的钱怎么报"), is a detail of the story, not the topic asked about.
        # What the question sets aside ("除了高血压糖尿病，心脑血管病呢") is not what it asks about either.
        told = share < 1 or (not ids and word in story_only) or word in set_aside
        concepts.append(Concept(frozenset(ids), weight * (CONTEXT_SHARE if told and share == 1 else share),
                                word in domain or any(t in domain for t in tokens if len(t) > 1), told=told))
    return concepts


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
    table = dict(res.synonyms)
    return {p: table.get(p, ()) for p in question.told_explained
            if _groups_in(" ".join((p, *table.get(p, ()))), tuple(res.status_groups))}


def _phrase_concept(engine: Retriever, phrase: str, told: bool) -> list[Concept]:
    """The phrase itself where the notices use it too (低收入), and the policy terms it stands for."""
    res = engine.resources
    ids: set[int] = set(_ids(engine, [phrase]))
    for term in dict(res.synonyms).get(phrase, ()):
        whole = engine.term_id(term)
        ids |= {whole} if whole is not None else \
            set(_ids(engine, (t for t in res.tokenizer.tokens(term) if len(t) > 1)))
        ids |= set(_ids(engine, (res.longer_terms or {}).get(term, ())))
    if not ids:
        return []
    weak = phrase in res.weak_synonyms
    weight = max(engine.term_weight(i) for i in ids)
    weight = WEAK_SHARE * min(weight, engine.typical_weight()) if weak else weight
    return [Concept(frozenset(ids), weight * (CONTEXT_SHARE if told else 1.0), not weak, told=told, weak=weak)]


def _coverage(concepts: list[Concept], present: set[int]) -> float:
    total = sum(c.weight for c in concepts)
    if total <= 0:
        return 0.0
    return sum(c.weight for c in concepts if c.terms & present) / total


def _terms_in(engine: Retriever, text: str) -> set[int]:
    return set(_ids(engine, engine.resources.tokenizer.tokens(text)))


_ANY_NUMBER = r"\d"
_AMOUNT = re.compile(r"\d+\s*(?:元|万元)")
# What kind of figure a question asks for, and how a sentence that gives one looks.
_ANSWER_TYPES = (
    (re.compile(r"多久|多长时间|几天|多少天|几个月|等多|期限多长|等待期"),
     re.compile(r"(?<![月\d])\d+\s*(?:天|个月|周)|(?<![月\d])\d+\s*日(?!起)|[一二三四五六七八九十]+个月")),
    (re.compile(r"什么时候|何时|哪天|哪年|截止|最晚|最迟|几月|哪几个月|征缴期|缴费期"),
     re.compile(r"\d+\s*月|\d{4}\s*年|次日|当日|当天|之日起|次月|当月|起享受")),  # a date, or one told relatively
    # Not 能报吗 (yes or no), nor 报多少钱/万 (an amount).
    (re.compile(r"最[高多]能?报(?!.*(?:比例|百分|几成))"), _AMOUNT),  # a cap: 一年最多报多少
    (re.compile(r"比例|百分之|百分|几成|报多少(?![钱万元块])"), re.compile(r"\d+(?:\.\d+)?\s*%")),
    # How much is paid towards one's contribution: an amount, or a share of it.
    # (每人补多少, 补多少钱: an amount.)
    (re.compile(r"(?<!人)[补帮]多少(?![钱元万块])"), re.compile(r"\d+\s*(?:元|万元|%)|比例")),
    (re.compile(r"多少[钱元万块]|[交缴补帮]多少|标准|额度|限额|补助|资助|起付|封顶|最高支付"),
     _AMOUNT),
    (re.compile(r"多少|几"), re.compile(_ANY_NUMBER)),
    # Where to enrol or pay: a place named by what it is to the asker (学籍地, 户籍所在地) or a service point.
    (re.compile(r"在哪|哪里|哪儿|去哪|到哪|哪个地方"), re.compile(r"[籍保住在读]地|窗口|大厅|网点|线上|掌上|网上")),
)
_ANSWER_TYPE_BONUS = 0.1


# A search-box fragment that asks nothing ("2024江西居民医保个人缴费") and names a payment wants its amount.
_NAMES_A_PAYMENT = re.compile(r"缴费$|缴费\s|交费$|交钱$|个人缴费|筹资|财政补助")


def _answer_shape(question_text: str) -> re.Pattern[str] | None:
    shape = next((shape for asks, shape in _ANSWER_TYPES if asks.search(question_text)), None)
    if shape is None and not asks_something(question_text) and _NAMES_A_PAYMENT.search(question_text.strip()):
        return _AMOUNT
    return shape


def best_passage(engine: Retriever, row: int, clause, concepts: list[Concept], question_text: str = "",
                 question_terms: set[int] | None = None) -> tuple[str, float]:
    """The sentence, or two neighbouring sentences, of clause `row` that answer the question best; verbatim.

    Sentences are compared by how much of the question they cover; ties go to the one sharing
    more of the question's words, then to the earlier. A run-in heading ("新生儿。") never stands
    alone as the quote, and a question asking for a duration, a date, a rate or an amount prefers a sentence
    that gives one.
    Sentence terms come from the index: nothing is tokenized here.
    """
    terms_per_sentence = engine.sentence_terms(row)
    spans, pos = [], 0
    for sentence, terms in zip(clause.sentences, terms_per_sentence, strict=False):
        start = clause.text.find(sentence, pos)
        if start < 0:
            continue
        spans.append((start, start + len(sentence), terms))
        pos = start + len(sentence)
    if not spans:
        return clause.text, _coverage(concepts, engine.clause_terms(row))
    shape = _answer_shape(question_text)
    if question_terms is None:
        question_terms = _terms_in(engine, question_text)

    def value(start: int, end: int, terms: set[int]) -> tuple[float, float]:
        coverage = _coverage(concepts, terms)
        if shape is not None and shape.search(clause.text[start:end]):
            coverage += _ANSWER_TYPE_BONUS
        overlap = sum(engine.term_weight(i) for i in terms & question_terms)
        return coverage, overlap

    heading = clause.heading + "。" if clause.heading else None
    best: tuple[tuple[float, float], int, int, set[int]] | None = None
    for i, (start, end, terms) in enumerate(spans):
        candidates = []
        if clause.text[start:end].strip() != heading or len(spans) == 1:
            candidates.append((value(start, end, terms), start, end, 0.0, terms))
        if i + 1 < len(spans):  # a second sentence only when it adds to the answer
            both = terms | spans[i + 1][2]
            candidates.append((value(start, spans[i + 1][1], both), start, spans[i + 1][1], 0.05, both))
        for (coverage, overlap), s0, s1, margin, covered in candidates:
            coverage -= margin
            if best is None or coverage > best[0][0] + 1e-9 or (
                    abs(coverage - best[0][0]) <= 1e-9 and overlap > best[0][1] + 1e-9):
                best = ((coverage, overlap), s0, s1, covered)
    _, start, end, covered = best  # spans is not empty, so a best was found
    quote = clause.text[start:end].strip()
    return quote, _coverage(concepts, covered) + (_ANSWER_TYPE_BONUS if shape and shape.search(quote) else 0.0)


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
    return text


@dataclass(frozen=True)
class _Ranked:
    hit: Hit
    score: float
    coverage: float
    on_topic: bool  # covers at least one medical-insurance term of the question
    quote: str
    quote_coverage: float = 0.0  # how much of the question the quoted sentences themselves cover


ASKED_SHARE = 0.75  # with a backstory: the share of a clause's coverage that comes from the question itself
OTHER_GROUP_FACTOR = 0.85  # a rule for a group of people the question does not name ranks below the general one


def _groups_in(text: str, groups: tuple[str, ...]) -> set[str]:
    return {g for g in groups if g in text}


def _other_group(quote: str, asked: set[str], groups: tuple[str, ...]) -> bool:
    """The answering sentence is about a group of people (特困, 学生) and the question names none of its groups."""
    named = _groups_in(quote, groups)
    return bool(named) and not named & asked


def _rank(engine: Retriever, question: Question, search_text: str, within: list[Notice] | None,
          chain: tuple[Region, ...]) -> list[_Ranked]:
    context_text = _search_text(question, question.context) if question.context else ""
    concepts = _concepts(engine, question, search_text, context_text)
    if not any(c.terms for c in concepts if not c.weak):
        return []
    asked_concepts = [c for c in concepts if not c.told]
    told_any = len(asked_concepts) < len(concepts)
    skip = engine.resources.question_words
    asked = [t for t in engine.resources.tokenizer.tokens(search_text) if t not in skip]
    told = [t for t in engine.resources.tokenizer.tokens(context_text) if t not in skip]
    # With a backstory, the question's own words count twice in BM25 (repeats add up, as in rank-bm25).
    standing = [t for terms in _standing(engine.resources, question).values() for t in terms]
    query = " ".join(asked * (2 if told else 1) + told + list(question.expansions) + standing)
    pool = engine.best(query, within=None if within is None else [n.id for n in within], limit=RERANK_POOL)
    if not pool or pool[0].score <= 0:
        return []
    top = pool[0].score
    question_terms = _terms_in(engine, search_text)
    asked_groups = _groups_in(f"{search_text} {context_text} {' '.join(question.expansions)}", engine.resources.groups)
    ranked = []
    for hit in pool:
        present = engine.clause_terms(hit.row)
        clause_coverage = _coverage(concepts, present)
        # Whether the clause answers at all is judged on the question itself, not on the story told before it.
        asked_coverage = _coverage(asked_concepts, present) if told_any else clause_coverage
        on_topic = any(c.domain and c.terms & present for c in asked_concepts)
        # The passage's coverage carries the answer-type bonus: a clause that gives the kind of figure asked for
        # (a date, a rate, an amount) ranks above one that only talks about the same things.
        quote, passage_coverage = best_passage(engine, hit.row, hit.clause, asked_concepts, search_text,
                                               question_terms)
        w_bm25, w_clause, w_passage = WEIGHTS
        if told_any:  # the story helps tell clauses apart, but a clause must first answer the question itself
            clause_coverage = ASKED_SHARE * asked_coverage + (1 - ASKED_SHARE) * clause_coverage
        relevance = w_bm25 * hit.score / top + w_clause * clause_coverage + w_passage * passage_coverage
        if _other_group(quote, asked_groups, engine.resources.groups):
            relevance *= OTHER_GROUP_FACTOR
        quote_coverage = _coverage(asked_concepts, _terms_in(engine, quote)) if told_any else passage_coverage
        ranked.append(_Ranked(hit, relevance * _specificity(hit.notice, chain), asked_coverage, on_topic, quote,
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

    def notices(self, engine: Retriever, asked_years: tuple[int, ...]) -> list[Notice]:
        """The notices to answer from: in force at `as_of`, or for the year asked about, or now."""
        if self.standing is None:
            return list(engine.notices)
        if isinstance(self.as_of, dt.date):
            return self.standing.as_of(self.as_of)
        year = self.as_of if isinstance(self.as_of, int) else (asked_years[0] if asked_years else None)
        if year is None:
            return self.standing.current()
        years = self.standing.years()
        if years and year < years[0]:
            year = years[0]  # nothing that old here: the nearest year's rule, labelled with its year
        return self.standing.for_year(year)


def ask(engine: Retriever, message: str, region: Region | None = None, top_k: int = 3,
        when: When | None = None) -> Reply:
    """Answer a resident's message for `region` (or the place it names), best clauses first.

    A long message with several questions gets one reply part per question; the reply's own fields
    are those of the first part, so a client reading only them still gets a whole answer.
    """
    when = when or When()
    pieces = split_message(clean(message, engine.resources))
    if len(pieces) == 1:
        return _ask_one(engine, message, region, top_k, when)
    whole = read_question(message, engine.resources, region, this_year=when.this_year)
    if whole.ambiguous:
        return _ambiguous(engine, whole)
    place = whole.region if whole.region is not None else region
    replies = [_ask_one(engine, p.question, place, top_k, when, context=p.context) for p in pieces]
    parts = tuple(ReplyPart(p.question, r) for p, r in zip(pieces, replies, strict=True))
    first = replies[0]
    return Reply(first.answered, first.message, first.region, first.chain, first.answers, parts=parts)


def _ambiguous(engine: Retriever, q: Question) -> Reply:
    names = "、".join(engine.resources.divisions.full_name(r) for r in q.ambiguous)
    return Reply(False, f"有几个地方都叫这个名字：{names}。请说明是哪一个，或先选择所在地区。", None, (), (),
                 candidates=q.ambiguous)


def _ask_one(engine: Retriever, question: str, region: Region | None, top_k: int, when: When,
             context: str = "") -> Reply:
    divisions = engine.resources.divisions
    q = read_question(question, engine.resources, region, context=context, this_year=when.this_year)
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
        allowed = when.notices(engine, q.years)
        if chain:
            codes = {r.code for r in chain}
            allowed = [n for n in allowed if n.region_code in codes]

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

    answers = [_answer(question, r) for r in _pick(ranked, top_k, diversify=not chain and not q.doc_numbers)]
    return Reply(True, _message(q, allowed, answers) + _year_note(q, answers, when), q.region, chain, tuple(answers))


LOCAL_QUOTE_COVERAGE = 0.6  # for a place without its own notice: how much of the question the quote must cover
# A question that really asks for a figure (not one that merely names the payment period).
_ASKS_FIGURE = re.compile(r"多少|几[天个月年成次号]|多久|多长|哪天|哪号|几月|什么时候|何时|百分之|比例|最多|最高|上限"
                          r"|起付")
# What only a place's own notice can say: how and where to apply there, whom to call.
_LOCAL_PROCEDURE = re.compile(r"(怎么|如何|去哪|到哪|在哪)(里|儿)?(申请|办理|认定|备案|报|交)|哪些材料|什么材料|带什么|"
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
    shapes = [shape for clause in _figure_questions(search_text)
              if (shape := _answer_shape(clause)) is not None and shape.pattern != _ANY_NUMBER]
    # The figure must stand in a sentence about what was asked, not in any sentence of a related clause: the
    # sentence that gives it names the most telling thing asked about (大病保险, not only 比例).
    asked = [c for c in _concepts(engine, q, search_text) if c.terms and not c.told]
    key = max(asked, key=lambda c: c.weight).terms if asked else frozenset()
    sentences = [(s, _terms_in(engine, s)) for s in re.split(r"(?<=[。；;])", best.quote) if s.strip()]
    lacks_figure = bool(shapes) and (
        not all(any(shape.search(s) and key & terms for s, terms in sentences) for shape in shapes)
        or best.quote_coverage < LOCAL_QUOTE_COVERAGE)
    if lacks_figure or _LOCAL_PROCEDURE.search(search_text.lower()):
        return (f"资料库里没有{region.name}本地的医保文件，现有文件没有写明{region.name}的具体规定。"
                f"请咨询当地医保经办机构，或拨打医保服务热线 {HOTLINE}。")
    return ""


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
