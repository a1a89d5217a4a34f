"""Paired, interleaved measurement: figures that hold still on a loaded machine.

On a shared 2-core machine, what other processes do changes from one second to
the next, so a ratio of two medians taken minutes apart moves with the load. Here
every round measures each variant once, back to back, in an order that rotates
from round to round, and a figure is the *per-round* ratio of two variants: both
sides of one ratio ran within the same second. The figure is the median of those
ratios; their spread (interquartile range, min-max) says how far to trust it.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Row", "cpu_per_call", "rotated"]


@dataclass
class Row:
    """One figure: the measured side against its baseline, round by round."""

    name: str
    unit: str
    measured: list[float]
    baseline: list[float]
    target: float | None = None
    """The ratio to meet; None for a reference row that only informs."""
    higher_is_better: bool = False
    ratios: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.ratios = [m / b for m, b in zip(self.measured, self.baseline, strict=True)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def quartiles(self) -> tuple[float, float]:
        if len(self.ratios) < 2:
            return self.ratio, self.ratio
        q1, _, q3 = statistics.quantiles(self.ratios, n=4, method="inclusive")
        return q1, q3

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "reference"
        return f"{'>=' if self.higher_is_better else '<='} {self.target:.2f}x"

    def as_json(self) -> dict[str, object]:
        q1, q3 = self.quartiles
        return {
            "name": self.name,
            "unit": self.unit,
            "measured": statistics.median(self.measured),
            "baseline": statistics.median(self.baseline),
            "ratio": self.ratio,
            "ratio_iqr": [q1, q3],
            "ratio_range": [min(self.ratios), max(self.ratios)],
            "rounds": len(self.ratios),
            "target": self.target_text,
            "met": self.met,
            "per_round_ratios": self.ratios,
        }


def rotated(names: list[str], round_index: int) -> list[str]:
    """`names` starting at a different one each round, so no variant always goes first."""
    shift = round_index % len(names)
    return names[shift:] + names[:shift]


def cpu_per_call(
    variants: dict[str, Callable[[], object]], calls: int, rounds: int
) -> dict[str, list[float]]:
    """CPU seconds per call of each variant, one figure per round.

    Within a round the variants take turns call by call (in a rotating order), so
    each variant's calls are spread over the same stretch of the machine's load.
    CPU time of this process (`time.process_time`), not wall time: the server runs in
    another process, and time spent waiting for a core while others run is not ours.
    """
    names = list(variants)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for fn in variants.values():  # warm-up: connections, caches, lazy imports, schemas
        for _ in range(max(2, calls // 5)):
            fn()
    clock = time.process_time
    for index in range(rounds):
        spent = dict.fromkeys(names, 0.0)
        gc.collect()  # each round starts with no garbage left from the last
        for call in range(calls):
            for name in rotated(names, index + call):
                fn = variants[name]
                start = clock()
                fn()
                spent[name] += clock() - start
        for name in names:
            samples[name].append(spent[name] / calls)
    return samples
