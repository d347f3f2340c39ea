"""What a build or an update did, and what it could not do, file by file."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FileProblem:
    file: str
    reason: str


@dataclass
class BuildReport:
    files: int = 0
    notices: int = 0
    clauses: int = 0
    characters: int = 0
    seconds: float = 0.0
    errors: list[FileProblem] = field(default_factory=list)
    warnings: list[FileProblem] = field(default_factory=list)
