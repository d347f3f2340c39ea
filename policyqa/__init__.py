"""policyqa: answers on resident basic medical insurance, citing clause and document number.

The library floor: question reading, answering, citations. See docs/architecture.md.
"""
from .assistant import Assistant
from .records import AmbiguousRegion, Answer, Reply, UnknownDocument, UnknownRegion

__all__ = ["AmbiguousRegion", "Answer", "Assistant", "Reply", "UnknownDocument", "UnknownRegion"]
