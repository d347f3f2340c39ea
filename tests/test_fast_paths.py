"""Fast paths give exactly what the plain code gave: reranking from stored term ids, tables by first character."""
import random

import numpy as np

from policyqa.answering import Concept, _coverage, _coverages, _terms_in


def test_part_hits_agree_with_each_sentences_terms(assistant):
    engine = assistant.engine
    rng = random.Random(14)
    rows = list(range(engine.clause_total))
    vocabulary = sorted({t for r in rows for t in engine.clause_terms(r)})
    groups = [frozenset(rng.sample(vocabulary, rng.randint(0, 4))) for _ in range(30)]
    pool = rng.sample(rows, 40)
    hits, starts = engine.part_hits(pool, groups)
    assert hits.shape == (starts[-1], len(groups))
    for k, row in enumerate(pool):
        # Each clause's parts: its heading part (its terms are the clause's less its sentences'), then its sentences.
        sentences = engine.sentence_terms(row)
        assert starts[k + 1] - starts[k] == len(sentences) + 1
        for part, terms in zip(range(starts[k] + 1, starts[k + 1]), sentences, strict=True):
            assert hits[part].tolist() == [bool(g & terms) for g in groups]
        whole = engine.clause_terms(row)
        assert hits[starts[k]:starts[k + 1]].any(axis=0).tolist() == [bool(g & whole) for g in groups]


def test_a_quote_has_the_terms_of_its_sentences(assistant):
    """A quote is one sentence or two neighbours, stripped: its words are read from the index, not tokenized."""
    engine = assistant.engine
    for hit in engine.listing(limit=engine.clause_total).hits:
        row, clause = hit.row, hit.clause
        sentences = engine.sentence_terms(row)
        for i, sentence in enumerate(clause.sentences):
            assert _terms_in(engine, sentence.strip()) == sentences[i]
            if i + 1 < len(clause.sentences):
                start = clause.text.find(sentence)
                end = clause.text.find(clause.sentences[i + 1], start + len(sentence)) + len(clause.sentences[i + 1])
                assert _terms_in(engine, clause.text[start:end].strip()) == sentences[i] | sentences[i + 1]


def test_coverages_add_up_as_coverage_does():
    rng = random.Random(7)
    for n in (1, 5, 16, 17, 62, 63, 120):  # past 16 concepts the keys are Python integers
        concepts = [Concept(frozenset([i]), rng.random() * 5, False) for i in range(n)]
        met = np.random.default_rng(n).random((60, n)) < 0.3
        expected = [_coverage(concepts, set(np.flatnonzero(row).tolist())) for row in met]
        assert _coverages(concepts, met).tolist() == expected  # the same floats, not merely close
    assert _coverages([Concept(frozenset([1]), 0.0, False)], np.ones((3, 1), dtype=bool)).tolist() == [0.0] * 3


def test_the_quotes_valued_at_once_are_those_the_scan_picks(assistant, monkeypatch):
    """_best_passages must pick what best_passage's one-by-one scan picks, for every clause of every pool."""
    import json
    from pathlib import Path

    from policyqa import answering

    at_once = answering._best_passages
    compared = []

    def both(engine, pool, passages, shape):
        quotes = at_once(engine, pool, passages, shape)
        assert quotes == [answering.best_passage(engine, k, hit.clause, passages, shape) for k, hit in enumerate(pool)]
        compared.append(len(pool))
        return quotes

    monkeypatch.setattr(answering, "_best_passages", both)
    data = Path(__file__).parent / "data"
    for name in ("questions.jsonl", "realistic-calibration.jsonl"):
        for line in (data / name).read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            assistant.ask(q["question"], region=q.get("region"))
    assert sum(compared) > 5000


def test_near_ties_are_left_to_the_scan(assistant, monkeypatch):
    """Coverages within 1e-9 of the best without being equal: the scan's order decides, so the scan is run."""
    from policyqa import answering
    from policyqa.understanding import read_question

    engine = assistant.engine
    q = read_question("新生儿怎么参保", engine.resources)
    search_text = answering._search_text(q)
    concepts = answering._concepts(engine, q, search_text)
    pool = list(engine.search(search_text, limit=answering.RERANK_POOL).hits)
    passages = answering._Passages(engine, pool, concepts, answering._terms_in(engine, search_text))
    k = next(k for k, hit in enumerate(pool) if len(hit.clause.sentences) >= 3)
    first, stop = passages.starts[k] + 1, passages.starts[k + 1]
    coverage, overlap = passages.single
    coverage[first:stop] = 0.0
    coverage[first:first + 3] = [0.5, 0.5 + 4e-10, 0.5 - 4e-10]
    overlap[first:first + 3] = [1.0, 2.0, 3.0]
    passages.pair[0][first:stop - 1] = 0.0
    passages._lists = None  # values as changed here
    scanned = []
    scan = answering.best_passage
    monkeypatch.setattr(answering, "best_passage", lambda engine, k, *rest: scanned.append(k) or scan(engine, k, *rest))
    quotes = answering._best_passages(engine, pool, passages, None)
    assert k in scanned
    assert quotes == [scan(engine, i, hit.clause, passages, None) for i, hit in enumerate(pool)]


def test_a_filter_by_notices_keeps_exactly_their_clauses(assistant):
    """The clause mask for `within` is set run by run for a few notices and by a pass for many: the same mask."""
    engine = assistant.engine
    rng = random.Random(3)
    ids = [n.id for n in engine.notices]
    for size in (0, 1, 2, 3, len(ids) - 1, len(ids)):
        within = rng.sample(ids, size) + ["no-such-notice"]
        expected = np.array([hit.notice.id in within for hit in engine.listing(limit=engine.clause_total).hits])
        assert engine._mask(within).tolist() == expected.tolist()


def test_tables_looked_up_by_first_character_give_the_same_text(resources):
    """A phrase table is tried only where a phrase's first character is in the text: never one that is there."""
    import json
    from pathlib import Path

    from policyqa.understanding import _entries_in, _standard_spellings

    rng = random.Random(11)
    lines = (Path(__file__).parent / "data" / "realistic-calibration.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["question"] for line in lines]
    spellings = [s for s, _ in resources.colloquial] + [p for p, _ in resources.synonyms]
    # Questions, and strings of colloquial spellings and phrases run together (a replacement may make another).
    texts += ["".join(rng.sample(spellings, 4)) for _ in range(300)]
    for text in texts:
        for table in (resources.colloquial, resources.synonyms):
            tried = _entries_in(text, table)
            assert tried == sorted(tried) and {i for i, (p, _) in enumerate(table) if p in text} <= set(tried)
        replaced = text
        for spelling, standard in resources.colloquial:  # as clean() did it: every spelling in turn
            if spelling in replaced:
                replaced = replaced.replace(spelling, standard)
        assert _standard_spellings(text, resources.colloquial) == replaced


def test_a_phrase_inside_a_longer_policy_term_is_found_as_before(resources):
    """_inside_policy_term looks only at the domain words that contain the phrase: the same answer as all of them."""
    import re

    from policyqa.understanding import _inside_policy_term

    def plain(text, start, end, words):
        for word in words:
            if len(word) <= end - start:
                break
            if text[start:end] in word and any(m.start() <= start and end <= m.end()
                                               for m in re.finditer(re.escape(word), text)):
                return True
        return False

    rng = random.Random(5)
    words = resources.domain_words
    for phrase, _ in resources.synonyms:
        for text in (phrase, *rng.sample(words, 3), "".join(rng.sample(words, 2)) + phrase):
            text = f"{text}{phrase}{rng.choice(words)}"
            for m in re.finditer(re.escape(phrase), text):
                assert _inside_policy_term(text, m.start(), m.end(), words) == plain(text, m.start(), m.end(), words)


def test_compiled_part_values_are_the_coverages_of_each_sentence(assistant):
    """kernels.passage_values adds up what _coverage adds, in its order: the same floats for every part, every two
    neighbours and every clause of real pools, with and without a backstory."""
    from policyqa import answering
    from policyqa.understanding import read_question

    engine = assistant.engine
    compared = 0
    for question, context in [("新生儿怎么参保", ""), ("个人缴费标准是多少", ""), ("断缴了补交要等多久", ""),
                              ("住院能报多少", "我是低保户，去年在外地打工"), ("大学生在哪里参保", "孩子在南昌读书")]:
        q = read_question(question, engine.resources, context=context)
        search_text = answering._search_text(q)
        concepts = answering._concepts(engine, q, search_text, answering._search_text(q, q.context) if context else "")
        pool = list(engine.search(search_text, limit=answering.RERANK_POOL).hits)
        terms = answering._terms_in(engine, search_text)
        passages = answering._Passages(engine, pool, concepts, terms)
        asked = passages.asked
        weight = {t: engine.term_weight(t) for t in terms}
        for k, hit in enumerate(pool):
            ix = engine._index  # each part's stored terms: its heading part, then its sentences
            parts = [frozenset(ix.part_terms[ix.part_ptr[p]:ix.part_ptr[p + 1]].tolist())
                     for p in range(ix.clause_part_ptr[hit.row], ix.clause_part_ptr[hit.row + 1])]
            assert parts[1:] == engine.sentence_terms(hit.row)
            first = passages.starts[k]
            for i, part in enumerate(parts):
                assert passages.single[0][first + i] == answering._coverage(asked, set(part))
                assert np.isclose(passages.single[1][first + i], sum(weight[t] for t in sorted(terms & part)))
                if i + 1 < len(parts):
                    both = set(part | parts[i + 1])
                    assert passages.pair[0][first + i] == answering._coverage(asked, both)
            whole = set(engine.clause_terms(hit.row))
            assert passages.clause_asked[k] == answering._coverage(asked, whole)
            assert passages.clause[k] == answering._coverage(concepts, whole)
            assert passages.on_topic[k] == any(c.terms & whole for c in asked if c.domain)
            compared += 1
    assert compared > 50


def test_a_small_index_ranks_in_one_pass_exactly_as_the_full_scan(assistant):
    """engine.best on an index under READ_ALL_BELOW postings (kernels.score_top_k) gives the rows and the very
    scores of indexer.bm25's top_k over score, with and without a filter by notice, ties by row."""
    from indexer.bm25 import score, top_k

    engine = assistant.engine
    weights = engine._index.weights
    vocabulary = [t for t, i in sorted(engine._index.vocabulary.items(), key=lambda item: item[1])]
    ids = [n.id for n in engine.notices]
    rng = random.Random(11)
    for trial in range(300):
        words = rng.choices(vocabulary, k=rng.randint(0, 6))
        words += words[:rng.randint(0, 2)]  # repeats count twice
        within = None if trial % 3 == 0 else rng.sample(ids, rng.randint(0, len(ids))) + ["no-such-notice"]
        limit = rng.choice([1, 3, 10, 40, 200])
        query = " ".join(words)
        scores = score(weights, engine._term_ids(query), weights.shape[1])
        rows = top_k(scores, limit, engine._mask(within))[0]
        hits = engine.best(query, within=within, limit=limit)
        assert [h.row for h in hits] == rows.tolist()
        assert [h.score for h in hits] == scores[rows].tolist()  # the same floats, not merely close


def test_the_longest_place_name_at_each_position_is_the_first_the_names_give(resources, assistant):
    """Divisions.longest_name_at tries each length of name once: the same name as the first of names_at, at every
    position of every clause and of text cut off mid-name."""
    divisions = resources.divisions
    texts = [hit.clause.text for hit in assistant.engine.listing(limit=assistant.engine.clause_total).hits]
    texts += [name[:cut] for name in divisions.names[:3000:7] for cut in range(1, len(name) + 1)]
    checked = 0
    for text in texts:
        for i in range(len(text)):
            assert divisions.longest_name_at(text, i) == next(divisions.names_at(text, i), None), (text, i)
            checked += 1
    assert checked > 10_000


def test_a_word_means_the_same_asked_again(assistant):
    """What a word or phrase stands for is worked out once per engine: asking again gives the very same reply,
    and a full memo starts afresh rather than growing."""
    from policyqa import answering

    questions = ["新农合一年交多少钱", "孩子刚出生怎么上医保", "低保户住院能报多少", "断缴了补交要等多久"]
    first = [assistant.ask(q) for q in questions]
    memo = answering._memo(assistant.engine)
    assert any(key[0] == "word" for key in memo) and any(key[0] == "phrase" for key in memo)
    assert [assistant.ask(q) for q in questions] == first
    answering._MEMOS[assistant.engine] = dict.fromkeys(range(answering.MEMO_LIMIT))
    assert len(answering._memo(assistant.engine)) == 0
    assert [assistant.ask(q) for q in questions] == first
