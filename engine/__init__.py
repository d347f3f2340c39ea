"""The engine: the only reader of a stored index.

The library (policyqa/) asks it for notices, clauses, ranked hits and the term ids stored for each
clause and sentence, through the `Retriever` interface; nothing above this floor touches index arrays.
`BM25Engine` serves the index written by indexer/ (precomputed BM25 weights, memory-mapped).
"""
from .bm25_engine import BM25Engine
from .retriever import Hit, Retriever, SearchPage

__all__ = ["BM25Engine", "Hit", "Retriever", "SearchPage"]
