"""The engine as a library, for Python backends that embed it without HTTP.

    from policyqa import Assistant

    assistant = Assistant.from_corpus("corpus", "index")   # builds the index when missing or stale
    reply = assistant.ask("孩子刚出生怎么参保", region="袁州区")
    if reply.answered:
        best = reply.answers[0]
        print(best.quote, best.doc_number, best.section)

Results are the same typed models the JSON API returns (qa_server.schemas).
"""
from __future__ import annotations

from pathlib import Path

from indexer.build import build_index, index_is_stale
from qa_server import views
from qa_server.engine import Engine
from qa_server.schemas import AskResponse, DocumentDetail, DocumentSummary, SearchResults

UnknownRegion = views.UnknownRegion
UnknownDocument = views.UnknownDocument


class Assistant:
    """Answers questions over one loaded index. Thread-safe for reading; `reload` swaps the index whole."""

    def __init__(self, index_dir: str | Path = "index"):
        self.index_dir = Path(index_dir)
        self._engine = Engine.load(self.index_dir)

    @classmethod
    def from_corpus(cls, corpus_dir: str | Path = "corpus", index_dir: str | Path = "index") -> "Assistant":
        """Build the index from `corpus_dir` first when it is missing or was built from other files."""
        if index_is_stale(Path(index_dir), Path(corpus_dir)):
            build_index(Path(corpus_dir), Path(index_dir))
        return cls(index_dir)

    def ask(self, question: str, region: str | None = None, top_k: int = 3,
            previous_question: str | None = None) -> AskResponse:
        """The clauses that answer `question` for `region`, best first. Raises UnknownRegion, ValueError."""
        if not question or not question.strip():
            raise ValueError("question is empty")
        if not 1 <= top_k <= 10:
            raise ValueError("top_k must be between 1 and 10")
        return views.ask_response(self._engine, question, region=region, top_k=top_k,
                                  previous_question=previous_question)

    def search(self, q: str = "", *, region: str | None = None, level: str | None = None, doc: str | None = None,
               limit: int = 10, offset: int = 0) -> SearchResults:
        """Clause search with filters applied before ranking. Raises UnknownRegion, UnknownDocument."""
        return views.search_page(self._engine, q, region=region, level=level, doc=doc, limit=limit, offset=offset)

    def documents(self) -> list[DocumentSummary]:
        return views.document_list(self._engine).documents

    def document(self, key: str) -> DocumentDetail | None:
        """A notice by id or document number (any bracket style), with its clauses; None if unknown."""
        notice = self._engine.notice(key)
        return views.document_detail(self._engine, notice) if notice else None

    def reload(self) -> None:
        """Load the index directory again (after `policyqa index`); the old one serves until this returns."""
        self._engine = Engine.load(self.index_dir)
