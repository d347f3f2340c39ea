"""What the API and the pages both do around the library: answer and remember, find a document."""
from __future__ import annotations

from policyqa import Assistant
from policyqa.records import DocumentRecord, Reply

from . import metrics
from .errors import ApiError
from .feedback import FeedbackStore

EVAL_HEADER = "x-policyqa-eval"  # sent by `policyqa eval`: test questions are not residents', so not logged


def answer(assistant: Assistant, store: FeedbackStore, question: str, region: str | None, top_k: int = 3,
           previous_question: str | None = None, remember: bool = True, as_of: str | None = None) -> Reply:
    """Answer, and remember it: answers by answer_id (for feedback), unanswered questions by their text.

    Raises the library's ValueErrors (blank question, UnknownRegion, AmbiguousRegion).

    The routes that answer call this on the event loop (`async def`), not in a thread: answering is CPU-bound
    and holds the GIL all along, so a thread let nothing else run meanwhile, and handing each request to one
    and back cost about a sixth of /ask's CPU. Nothing here waits on I/O: what is remembered is queued for a
    writer thread (feedback.py). The load shedder turns the loop once before each answer, so that the requests
    arriving meanwhile queue (or are refused) and a client that left is seen (shedding.py).
    """
    reply = assistant.ask(question, region=region, top_k=top_k, previous_question=previous_question, as_of=as_of)
    metrics.count_reply(reply)
    if remember:
        for asked, part in ((p.question, p.reply) for p in reply.parts) if reply.parts else ((question, reply),):
            if part.answered:
                store.log_answers(asked, [(a.answer_id, a.notice.doc_number, a.clause.section) for a in part.answers])
            else:
                store.log_unanswered(asked)
    return reply


def find_document(assistant: Assistant, doc_id: str) -> DocumentRecord:
    record = assistant.document(doc_id)
    if record is None:
        raise ApiError(404, "document_not_found", f"找不到文件“{doc_id}”")
    return record
