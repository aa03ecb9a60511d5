"""Counters a running bot keeps for /metrics (Prometheus text format)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Counters:
    updates: int = 0
    handler_errors: int = 0
    sync_failures: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def update_seen(self, kind: str) -> None:
        self.updates += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
