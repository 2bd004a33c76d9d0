"""Samples and their summary: min, median, p95, and the load average when they were taken."""

import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


def p95(values: list[float]) -> float:
    """The 95th percentile by the nearest-rank method (the largest value of a short list)."""
    ordered = sorted(values)
    rank = max(0, -(-95 * len(ordered) // 100) - 1)
    return ordered[rank]


@dataclass
class Samples:
    """Timings in milliseconds (or any one unit) of one side of an A/B comparison."""

    values: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)
        self.loads.append(os.getloadavg()[0])

    def summary(self) -> dict[str, Any]:
        """min, median, p95, the sample count and the 1-minute load average seen (min-max)."""
        if not self.values:
            return {"n": 0}
        return {
            "n": len(self.values),
            "min": round(min(self.values), 3),
            "median": round(statistics.median(self.values), 3),
            "p95": round(p95(self.values), 3),
            "load": [round(min(self.loads), 2), round(max(self.loads), 2)],
        }

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def p95(self) -> float:
        return p95(self.values)


async def timed_ms(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """How long one awaited call took, in milliseconds, and what it returned."""
    began = time.perf_counter()
    result = await call()
    return (time.perf_counter() - began) * 1000, result
