"""Response models of the JSON API, kept apart from the indexer's records."""
from __future__ import annotations

from pydantic import BaseModel, Field, field_validator, model_validator

from policyqa.understanding import is_blank


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class DocumentLink(BaseModel):
    id: str
    doc_number: str
    title: str
    url: str


class Standing(BaseModel):
    """Which coverage year a notice's rules are for, and whether it is still in force."""

    coverage_year: int | None = Field(default=None, description="文件规定的年度，如 2024；文件没写明时为 null")
    in_force: bool = Field(default=True, description="是否现行；已被新文件替代时为 false")
    replaced_by: DocumentLink | None = Field(default=None, description="替代它的文件")


class DocumentSummary(Standing):
    id: str
    doc_number: str
    title: str
    issuer: str
    level: str
    region: str
    region_code: str
    issued: str | None
    effective: str | None = None
    repeals: list[str] = Field(default_factory=list, description="它写明废止或替代的文件文号")
    forwarded_by: str | None
    clause_count: int
    url: str


class DocumentList(BaseModel):
    documents: list[DocumentSummary]


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
    question: str = Field(min_length=1, max_length=500, description="居民的问题，最多 500 字")
    previous_question: str | None = Field(default=None, max_length=500,
                                          description="上一个问题：追问（如“那报销比例呢？”）沿用它的话题和地区")
    region: str | None = Field(default=None, max_length=50,
                               description="所在地区：六位行政区划代码（推荐），或省、市、县（区）名称")
    as_of: str | None = Field(default=None, max_length=10,
                              description="按哪一天（如 2023-10-01）或哪个年度（如 2024）的现行文件回答；默认今天")
    top_k: int = Field(default=3, ge=1, le=10, description="最多返回几条条款（1–10）")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, question: str) -> str:
        # Spaces, line breaks or zero-width characters only: as empty as "", and refused the same way.
        if is_blank(question):
            raise ValueError("问题不能为空")
        return question


class RegionOut(BaseModel):
    name: str
    code: str = Field(description="六位行政区划代码")
    chain: list[str] = Field(description="从本地到全国的各级地区名称")
    full_name: str = Field(default="", description="含上级地区的全称，如 吉林省长春市朝阳区")


class CitedClause(Standing):
    """A clause with the notice that issued it: what every answer and search hit carries."""

    doc_number: str
    title: str
    issuer: str
    level: str
    region: str
    issued: str | None
    section: str
    heading: str
    text: str


class AnswerOut(CitedClause):
    quote: str
    score: float
    url: str
    citation: str = Field(default="", description="《标题》（文号）第几条第几项，可直接引用")
    answer_id: str = Field(description="这条回答的标识，用于 POST /api/v1/feedback")


class AskPart(BaseModel):
    """One question of a message that asked several, with its own reply."""

    question: str
    answered: bool
    message: str
    answers: list[AnswerOut]


class AskResponse(BaseModel):
    answered: bool
    message: str
    region: RegionOut | None
    answers: list[AnswerOut]
    parts: list[AskPart] = Field(default_factory=list,
                                 description="留言里有几个问题时，逐个回答；answered、message、answers 与第一个相同")
    candidates: list[RegionOut] = Field(default_factory=list,
                                        description="问题里的地名对应多个地方（如 朝阳区）时，可供选择的地区")


class ClauseHit(CitedClause):
    id: str
    doc_id: str
    score: float
    url: str
    citation: str


class SearchResults(BaseModel):
    query: str
    total: int
    limit: int
    offset: int
    results: list[ClauseHit]


class CompareCell(BaseModel):
    coverage_year: int | None = None
    region: str
    level: str
    doc_number: str
    title: str
    section: str
    heading: str
    quote: str
    text: str
    url: str
    citation: str


class Comparison(BaseModel):
    topic: str
    cells: list[CompareCell]
    not_covered: list[str]  # places whose notices say nothing on the topic
    topics: list[str]  # suggested topics


class RegionOption(BaseModel):
    code: str
    name: str
    level: str


class RegionOptions(BaseModel):
    parent: str | None
    regions: list[RegionOption]


class FeedbackRequest(BaseModel):
    answer_id: str | None = Field(default=None, max_length=64)
    question: str | None = Field(default=None, max_length=500)
    doc_number: str | None = Field(default=None, max_length=64)
    section: str | None = Field(default=None, max_length=64)
    helpful: bool
    comment: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _names_an_answer(self) -> FeedbackRequest:
        if not self.answer_id and not (self.question and self.doc_number):
            raise ValueError("需要回答编号 answer_id，或者问题 question 和发文字号 doc_number")
        return self


class FeedbackStored(BaseModel):
    id: int
    stored: bool = True
