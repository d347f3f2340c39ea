"""policyqa: answers on resident basic medical insurance, citing clause and document number."""
from .assistant import Assistant, UnknownDocument, UnknownRegion

__all__ = ["Assistant", "UnknownDocument", "UnknownRegion"]
