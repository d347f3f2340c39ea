"""Reading a resident's question: script, numerals, place, document number, everyday words, scope.

Everything here is a pure function of the question text (and the optional region the
asker picked); the result says what to search for and where.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from indexer import docnumbers
from indexer.regions import NATION, Region, most_specific, named_places
from indexer.resources import Resources

_NATIONAL_WORDS = re.compile(r"全国|国家(层面|规定|政策|统一|要求)?|国家医保局")
_IN_SCOPE = re.compile(r"居民医保|城乡居民(基本)?医疗|居民基本医疗")


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
    place_spellings: tuple[str, ...] = ()  # how the question names places, kept out of the clause search
    ambiguous: tuple[Region, ...] = ()  # the namesakes a place in the question could be, when it can't be told
    schemes: tuple[str, ...] = ()  # the names of the resident scheme used (新农合, 合作医疗), kept out of the search
    years: tuple[int, ...] = ()  # the years the question asks about (2021年, 今年), kept out of the search
    context: str = ""  # the backstory told before the question in a long message: searched, but counts for less
    told_explained: tuple[str, ...] = ()  # the everyday phrases of the backstory that were mapped (退伍, 吃低保)


# --- cleaning -----------------------------------------------------------------------------------------------

# Anonymisation masks (张**, 12月**日, ****) and lone stars inside words (生育*贴): they stand for nothing we can read.
_MASK = re.compile(r"[*＊×]+")
_SPACES = re.compile(r"[ \t\u3000]+")
_KUAI = re.compile(r"(\d+(?:\.\d+)?)\s*块(?:钱)?")
_CUT_OFF_HOW_MUCH = re.compile(r"(?<=[交缴报付花补是要有])多(?=[\s?？。!！]*$)")
# Southwestern and Gan speech ask "how much" with 好多 (交好多, 限额好多？); "好多次", "花了好多钱" are "a lot".
_HAO_DUO = re.compile(r"(?<=[交缴报付补是要有给额准])好多(?![次人年天个家种])|好多(?=[\s?？。!！，,]*(?:$|[?？]))")


def clean(text: str, resources: Resources) -> str:
    """Simplified script, masks dropped, dialect and informal spellings in standard words."""
    text = _standard_spellings(_SPACES.sub(" ", _MASK.sub("", resources.to_simplified(text.strip()))),
                               resources.colloquial)
    # "300块" is 300元 (Chinese numerals with 块 are handled with the other numerals).
    text = _KUAI.sub(r"\1元", text)
    # A search-box question cut off before its last character: "报销比例是多" asks 多少.
    return _CUT_OFF_HOW_MUCH.sub("多少", _HAO_DUO.sub("多少", text))


def _standard_spellings(text: str, table: tuple[tuple[str, str], ...]) -> str:
    """Each (spelling, standard) of `table` in turn: the spelling replaced where the text so far has it."""
    todo, k = _entries_in(text, table), 0  # the table in order, less spellings whose first character is absent
    while k < len(todo):
        spelling, standard = table[todo[k]]
        if spelling in text:
            text = text.replace(spelling, standard)
            todo, k = [j for j in _entries_in(text, table) if j > todo[k]], -1  # the new text may hold others
        k += 1
    return text


def _entries_in(text: str, table: tuple[tuple[str, object], ...]) -> list[int]:
    """Positions, in order, of the entries of `table` (a phrase table of Resources) whose phrase starts with a
    character of `text`: the only ones that can occur in it. Hundreds of phrases, a question of twenty characters."""
    by_first = _derived(_FIRST_CHARACTERS, table, _positions_by_first_character)
    return sorted({position for ch in {*text, ""} for position in by_first.get(ch, ())})


def _positions_by_first_character(table: tuple[tuple[str, object], ...]) -> dict[str, list[int]]:
    by_first: dict[str, list[int]] = {}
    for position, (phrase, _) in enumerate(table):
        by_first.setdefault(phrase[:1], []).append(position)
    return by_first


def _derived(cache: dict[int, tuple], table, build: Callable):
    """`build(table)` for a table of Resources, worked out once per table. Kept by the table's id, with the table
    itself, so that the id cannot be reused by another table meanwhile."""
    known = cache.get(id(table))
    if known is None or known[0] is not table:
        known = cache[id(table)] = (table, build(table))
    return known[1]


_FIRST_CHARACTERS: dict[int, tuple] = {}  # first character → positions in the table


# --- years --------------------------------------------------------------------------------------------------

# A year on its own ("2021年合作医疗", "2024年度"), not the year of a date ("2024年1月1日以后出生").
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)\s*年(?:度)?(?!\s*\d{1,2}\s*月)"
                   r"|(?<![\d.])((?:19|20)\d\d)(?=[\u4e00-\u9fff])(?![年元块人天日个万次号月岁周多])")
_RELATIVE_YEARS = {"今年": 0, "本年度": 0, "当年": 0, "去年": -1, "上一年": -1, "前年": -2, "明年": 1, "下一年": 1}


def asked_years(text: str, this_year: int) -> tuple[tuple[int, ...], str]:
    """(the years `text` asks about, `text` without them): "2021年" and "今年" against `this_year`."""
    years = []

    def take(m: re.Match[str]) -> str:
        years.append(int(m.group(1) or m.group(2)))
        return " "
    text = _YEAR.sub(take, text)
    for word, offset in _RELATIVE_YEARS.items():
        if word in text:
            years.append(this_year + offset)
            text = text.replace(word, " ")
    return tuple(dict.fromkeys(years)), text


# --- long messages ------------------------------------------------------------------------------------------

_ENUMERATION = re.compile(r"(?:(?<=^)|(?<=[\s。；;，,！!？?：:]))"
                          r"(?:[（(]?\d{1,2}\s*[)）.、．:：]|[①②③④⑤⑥]|[一二三四五][、是]"
                          r"|(?:另外|还有|再就是|其次|最后|第二|第三)[,，、:：]?)")
_SENTENCE_END = re.compile(r"(?<=[。！!？?；;])")
# What makes a piece a question. Not 好几年 or 几件事 (a count in a story), and not a lone 么 or 可以.
_ASKING = re.compile(r"[?？]|吗|呢|多少|怎么|什么|哪(?!怕)|(?<!好)几(?![件个点]事|个问题)|能不能|可不可以|是不是|是否|"
                     r"有没有|要不要|用不用|还用|如何|多久|多长|能否|行不行|咋|啥|还能|能报|报销不|交不交|算不算|管不管")
# A piece that only announces the questions ("想问几件事:", "有两个问题：", "问一下：") or is punctuation alone.
_ANNOUNCES = re.compile(r"[:：]\s*$")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]")
_SHORT_MESSAGE = 40
# A short message is one question unless, after one has ended, the next is chained on ("…？还有…？").
_CHAINED = re.compile(r"[。！!？?；;]\s*(?:另外|还有|再就是|其次|最后|第二|第三)")
_BARE_QUESTION = 12  # CJK characters: a question this short takes its topic from the story before it


@dataclass(frozen=True)
class Part:
    """One question of a message, with the backstory told just before it."""

    question: str
    context: str


# Numbered questions: 1. 2、 3) （4） ① 一、 — the structure residents give a message with several questions.
_NUMBER = re.compile(r"(?:(?<=^)|(?<=[\s。；;，,！!？?：:]))"
                     r"(?:[（(]?\d{1,2}\s*[)）.、．:：](?!\d)|[①②③④⑤⑥]|[一二三四五][、是])")


def _numbered(text: str) -> list[Part]:
    """Two or more numbered questions: each is a part, and everything before the first is its story."""
    marks = [m for m in _NUMBER.finditer(text)]
    if len(marks) < 2:
        return []
    story = text[:marks[0].start()].strip(" ，,、")
    bounds = [m.start() for m in marks] + [len(text)]
    parts = []
    for n, m in enumerate(marks):
        question = text[m.end():bounds[n + 1]].strip(" ，,、。")
        if len(_CJK_RUN.findall(question)) >= 2:
            parts.append(Part(question, story if not parts else ""))
    return parts if len(parts) >= 2 else []


def split_message(text: str) -> list[Part]:
    """A message cut into its questions; a short message, or one with a single question, stays whole.

    Residents write a backstory, then one to three questions, often numbered (1. 2) ①) or chained with
    另外/还有. Each question keeps the sentences told since the previous one as its context.
    """
    numbered = _numbered(text)  # numbered questions are several even in a short message
    if numbered:
        return numbered
    if len(text) < _SHORT_MESSAGE and not _CHAINED.search(text):
        return [Part(text, "")]
    pieces = []
    for sentence in _SENTENCE_END.split(text):
        marks = [m.start() for m in _ENUMERATION.finditer(sentence) if m.start() > 0]
        starts = [0, *marks]
        pieces += [sentence[a:b] for a, b in zip(starts, [*marks, len(sentence)], strict=True)]
    pieces = [p.strip(" ，,、") for p in pieces if p.strip(" ，,、。")]
    parts, context = [], []
    for piece in pieces:
        if len(_CJK_RUN.findall(piece)) < 2:
            continue
        if _ASKING.search(piece) and not _ANNOUNCES.search(piece):
            parts.append(Part(_ENUMERATION.sub("", piece, count=1).strip(" ，,、") or piece, "".join(context)))
            context = []
        else:
            context.append(piece)
    if len(parts) <= 1:
        return [Part(text, "")]
    return parts


_CLAUSE_END = re.compile(r"(?<=[，,。！!？?；;])")


def story_and_question(text: str) -> tuple[str, str]:
    """(the clauses told before the first one that asks, the rest): "在保温箱住了几天，出生的钱怎么报" →
    ("在保温箱住了几天，", "出生的钱怎么报"). ("", text) when the message opens with its question."""
    clauses = _CLAUSE_END.split(text)
    first = next((i for i, c in enumerate(clauses) if _ASKING.search(c)), 0)
    while first > 0 and clauses[first].lstrip().startswith(_JOINED):
        first -= 1  # "团体医疗险，和居民医保能不能两边都报": the clause before is what is asked about
    return "".join(clauses[:first]), "".join(clauses[first:])


_JOINED = ("和", "跟", "与", "同", "及", "以及", "还是")


def asks_something(text: str) -> bool:
    """Does `text` ask (a question word, 吗, a question mark), or only name a topic ("2024济宁新生儿参保")?"""
    return bool(_ASKING.search(text))


def clauses(text: str) -> list[str]:
    """`text` cut after every comma and sentence end, empty pieces left out."""
    return [c for c in _CLAUSE_END.split(text) if c.strip(" ，,。！!？?；;")]


def last_question(text: str) -> str:
    """The last clause that asks something; `text` itself when none does."""
    return next((c for c in reversed(clauses(text)) if _ASKING.search(c)), text)


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


def _inside_policy_term(text: str, start: int, end: int, domain_words: tuple[str, ...]) -> bool:
    """True when text[start:end] lies inside a longer policy term of the question (住院 in 住院待遇)."""
    for word in _words_containing(text[start:end], domain_words):
        for m in re.finditer(re.escape(word), text):
            if m.start() <= start and end <= m.end():
                return True
    return False


def _in_policy_term(text: str, start: int, end: int, terms: Collection[str]) -> bool:
    """True when text[start:end] shares its first character with a policy term that starts before it (保定 in
    医保定点: 医保), or lies inside a longer one."""
    for term, offset in _derived(_POSITIONS, terms, _term_positions).get(text[start], ()):
        at = start - offset
        if at >= 0 and (offset or len(term) > end - start) and text.startswith(term, at):
            return True
    return False


def _term_positions(terms: Collection[str]) -> dict[str, list[tuple[str, int]]]:
    """Character → (policy term, where the character stands in it), for every character of every term."""
    positions: dict[str, list[tuple[str, int]]] = {}
    for term in sorted(terms):
        for offset, character in enumerate(term):
            positions.setdefault(character, []).append((term, offset))
    return positions


_POSITIONS: dict[int, tuple] = {}  # character → (policy term, offset)


def _words_containing(piece: str, domain_words: tuple[str, ...]) -> tuple[str, ...]:
    """The longer words of `domain_words` (longest first) that contain `piece`, in order; worked out once a piece."""
    known = _derived(_CONTAINING, domain_words, lambda _: {})
    found = known.get(piece)
    if found is None:
        longer = []
        for word in domain_words:
            if len(word) <= len(piece):
                break
            if piece in word:
                longer.append(word)
        found = known[piece] = tuple(longer)
    return found


_CONTAINING: dict[int, tuple] = {}  # piece → the longer domain words containing it


def _match_synonyms(text: str, resources: Resources) -> tuple[list[str], list[str]]:
    """(phrases found, their policy terms); longest phrase first, each stretch of text used once."""
    explained, expansions = [], []
    used = [False] * len(text)
    for phrase, terms in map(resources.synonyms.__getitem__, _entries_in(text, resources.synonyms)):
        if phrase not in text:  # most phrases are absent: skip the regex (hundreds of them, per question)
            continue
        for m in re.finditer(re.escape(phrase), text):
            if any(used[m.start():m.end()]) or _inside_policy_term(text, m.start(), m.end(), resources.domain_words):
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

# Said just before a place the asker comes from (从广东, 老家是河南, 原籍安徽) and just after it (河北人，安徽阜阳户口,
# 河南嫁过来): the place asked about is the other one.
_CAME_FROM = re.compile(r"(?:[从由自]|老家[是在]?|原籍[是在]?|原来[是在])$")
_NATIVE = re.compile(r"人[,，。 ]|户口|户籍|嫁|过来的|来的")
_WENT_BACK = re.compile(r"(?:回|回到|返回|回了)$")


def _origins(text: str, named: list[tuple[Region, str]]) -> set[str]:
    """Places the asker comes from rather than asks about: "从广东迁到宜春", "户口由河北迁来",
    "我是河北人，在济宁打工", and every place before the one the asker went back to ("在广东打工，辞工回江西")."""
    out, pos, before = set(), 0, []
    for _, spelling in named:
        at = text.find(spelling, pos)
        came_from = at > 0 and _CAME_FROM.search(text[max(0, at - 4):at]) is not None
        native = at >= 0 and _NATIVE.match(text, at + len(spelling)) is not None
        if (came_from or native) and len(named) > 1:
            out.add(spelling)
        if at > 0 and _WENT_BACK.search(text[max(0, at - 3):at]):
            out.update(s for s in before if s != spelling)
        before.append(spelling)
        pos = max(pos, at + len(spelling)) if at >= 0 else pos
    return out


def read_question(question: str, resources: Resources, region: Region | None = None, context: str = "",
                  this_year: int = 2026, cleaned: str | None = None) -> Question:
    """What `question` asks, where, about which document; `region` is the place the asker picked, if any.

    `context` is the backstory told before the question in a long message: its places count, its words
    are searched for too. `this_year` reads 今年 and 去年.
    """
    divisions = resources.divisions
    text = clean(question, resources) if cleaned is None else cleaned  # `cleaned`: the caller's clean(question)
    context = clean(context, resources) if context else ""
    whole = f"{context}{text}"
    with_digits = digits_for_numerals(text)
    numbers = tuple(dict.fromkeys(n for _, _, n in docnumbers.spans(whole)))
    named = named_places(whole, divisions, within=region,
                         in_word=lambda i, j: _in_policy_term(whole, i, j, resources.domain_terms))
    origins = _origins(whole, named)
    asked = [(r, s) for r, s in named if s not in origins] or named
    from_question = most_specific([r for r, _ in asked], divisions)
    if from_question is None and _NATIONAL_WORDS.search(whole):
        from_question = NATION
    if region is not None and from_question is not None and region in divisions.chain(from_question):
        chosen, source = from_question, "question"  # picked 宜春市, asked about 袁州区: the narrower place
    elif region is not None:
        chosen, source = region, "param"
    else:
        chosen, source = from_question, "question" if from_question else None
    ambiguous: tuple[Region, ...] = ()
    if region is None:
        # A name shared by several places (朝阳区, 鼓楼区) with nothing in the question to tell them apart.
        earlier: Region | None = None
        for place, spelling in asked:
            namesakes = divisions.namesakes(spelling, within=earlier)
            if len(namesakes) > 1 and place == from_question:
                ambiguous = tuple(namesakes)
            earlier = place

    schemes = tuple(name for name in resources.scheme_names if name in whole)
    years, _ = asked_years(whole, this_year)
    topic_text = text
    for name in schemes:
        topic_text = topic_text.replace(name, " ")
    explained, expansions = _match_synonyms(topic_text, resources)
    told_explained = _match_synonyms(context, resources)[0] if context else []
    if with_digits != text:
        expansions.extend(t for t in re.findall(r"\d+(?:个月|周岁|岁|天|日|年|元|倍|次|%)?", with_digits))
    expansions.extend(numeral_equivalents(with_digits))

    named_scheme = bool(schemes) or bool(_IN_SCOPE.search(whole))
    # The topic is the question's own: a story that mentions a car accident before asking about subsidies for the
    # disabled is not about accidents. A bare "能报吗" leans on its story, so then the story counts too.
    lowered = (whole if len(_CJK_RUN.findall(text)) <= _BARE_QUESTION else text).lower()
    scope_note = next((note for pattern, note, strict in resources.out_of_scope
                       if (strict or not named_scheme) and pattern.search(lowered)), None)
    return Question(
        original=question,
        text=text,
        region=chosen,
        region_from=source,
        doc_numbers=numbers,
        expansions=tuple(dict.fromkeys(expansions)),
        explained=tuple(explained),
        out_of_scope=scope_note,
        place_spellings=tuple(spelling for _, spelling in named) + (("全国",) if _NATIONAL_WORDS.search(whole) else ()),
        ambiguous=ambiguous,
        schemes=schemes,
        years=years,
        context=context,
        told_explained=tuple(p for p in told_explained if p not in explained),
    )


# Characters that show nothing: a question made only of these and white space is blank.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"


def is_blank(question: str | None) -> bool:
    """True for None, "", or only white space and invisible characters (zero-width spaces, BOM)."""
    return not (question or "").translate({ord(c): None for c in _INVISIBLE}).strip()


_FOLLOW_UP_OPENERS = ("那", "那么", "还有", "另外", "再问", "如果是", "要是")
_FOLLOW_UP_MAX = 16


def is_follow_up(question: str) -> bool:
    """A short question that leans on the one before ("那报销比例呢？", "还有剖宫产呢")."""
    text = question.strip().rstrip("？?。! ！")
    return len(text) <= _FOLLOW_UP_MAX and (text.startswith(_FOLLOW_UP_OPENERS) or text.endswith("呢"))


def with_context(question: str, previous: str | None) -> str:
    """The question to answer: a follow-up carries the previous question's topic and place along."""
    if previous and previous.strip() and is_follow_up(question):
        return f"{previous.strip()}；{question.strip()}"
    return question
