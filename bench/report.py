"""The figures a run produces, the table it prints, and the JSON it writes."""

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Figure:
    """One row of the table: the project's number beside its bare baseline, and the target."""

    key: str
    name: str
    project: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""  # e.g. "<= 3x"; empty when the figure is reported only
    met: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def at_most(figure: Figure, limit: float) -> Figure:
    """Mark the figure met when its ratio is at most `limit`."""
    figure.target = f"<= {limit:g}x"
    figure.met = figure.ratio is not None and figure.ratio <= limit
    return figure


def at_least(figure: Figure, limit: float) -> Figure:
    """Mark the figure met when its ratio is at least `limit`."""
    figure.target = f">= {limit:g}x"
    figure.met = figure.ratio is not None and figure.ratio >= limit
    return figure


def _cell(text: str) -> str:
    return text.replace("|", "/")


def table(figures: list[Figure]) -> str:
    """A Markdown table: figure | project | baseline | ratio | target | met?"""
    lines = [
        "| figure | project | baseline | ratio | target | met? |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for f in figures:
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}x"
        met = "" if f.met is None else ("yes" if f.met else "NO")
        lines.append(
            f"| {_cell(f.name)} | {_cell(f.project)} | {_cell(f.baseline)} | {ratio} | {f.target} | {met} |"
        )
    return "\n".join(lines)


def verdict(figures: list[Figure]) -> str:
    """The last line: how many of the targets were met."""
    targets = [f for f in figures if f.met is not None]
    return f"bench: {sum(1 for f in targets if f.met)} of {len(targets)} targets met"


def write_json(figures: list[Figure], scale: str, path: Path | None = None) -> Path:
    """Every figure with its raw summaries, the scale and the machine, as JSON."""
    path = path or RESULTS / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "scale": scale,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "load_average_end": list(os.getloadavg()),
        "figures": [asdict(f) for f in figures],
        "verdict": verdict(figures),
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
