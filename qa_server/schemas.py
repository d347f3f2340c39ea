"""Response models of the JSON API, kept apart from the indexer's records."""
from __future__ import annotations

from pydantic import BaseModel


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class DocumentSummary(BaseModel):
    id: str
    doc_number: str
    title: str
    issuer: str
    level: str
    region: str
    region_code: str
    issued: str | None
    forwarded_by: str | None
    clause_count: int
    url: str


class DocumentList(BaseModel):
    documents: list[DocumentSummary]


class DocumentLink(BaseModel):
    id: str
    doc_number: str
    title: str
    url: str


class ClauseOut(BaseModel):
    id: str
    section: str
    heading: str
    text: str
    anchor: str


class DocumentDetail(DocumentSummary):
    source: str
    cites: list[DocumentLink]
    forwards: list[DocumentLink]
    forwarded_by_link: DocumentLink | None
    clauses: list[ClauseOut]


class AskRequest(BaseModel):
    question: str
    region: str | None = None
    top_k: int = 3


class RegionOut(BaseModel):
    name: str
    code: str
    chain: list[str]


class AnswerOut(BaseModel):
    doc_number: str
    title: str
    issuer: str
    level: str
    region: str
    issued: str | None
    section: str
    heading: str
    text: str
    quote: str
    score: float
    url: str


class AskResponse(BaseModel):
    answered: bool
    message: str
    region: RegionOut | None
    answers: list[AnswerOut]
