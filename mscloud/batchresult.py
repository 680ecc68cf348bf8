"""One item of a Graph or Dataverse $batch answer."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class BatchResult:
    status: int
    body: object = None
    headers: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300
