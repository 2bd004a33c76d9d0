"""`python -m bench --scale tiny` runs every figure once and reports them all (not the ratios)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.devserver]

PROJECT = Path(__file__).resolve().parent.parent
READS = ("inbox", "dashboard", "tasks_api", "list_first", "list_deep")
WITH_TARGETS = [
    *(f"{page}_{db}" for db in ("sqlite", "postgresql") for page in READS),
    "decision",
    "next_stage_visible",
    "starts",
    "starts_postgresql",
    "lifecycle",
    "history",
    "healthz_signin",
    "worker_rss",
]
REPORTED_ONLY = ["decision_vs_update", "workers"]


def test_tiny_scale_reports_every_figure_and_the_verdict(tmp_path: Path, postgres_url: str) -> None:
    out = tmp_path / "latest.json"
    run = subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "bench", "--scale", "tiny", "--json", str(out)],
        cwd=PROJECT,
        env=os.environ | {"CRC_BENCH_POSTGRES_URL": postgres_url},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-6000:]
    lines = run.stdout.strip().splitlines()
    verdict = re.fullmatch(r"bench: (\d+) of (\d+) targets met", lines[-1])
    assert verdict, lines[-1]
    assert int(verdict.group(2)) == len(WITH_TARGETS)
    assert lines[0] == "| figure | project | baseline | ratio | target | met? |"

    document = json.loads(out.read_text())
    figures = {f["key"]: f for f in document["figures"]}
    assert sorted(figures) == sorted(WITH_TARGETS + REPORTED_ONLY)
    assert len(document["figures"]) == len(figures)
    # None failed to be measured: each has its number, and each target its verdict.
    assert [k for k, f in figures.items() if f["project"].startswith(("failed", "not measured"))] == []
    assert sorted(k for k, f in figures.items() if f["met"] is not None) == sorted(WITH_TARGETS)
    assert int(verdict.group(1)) == sum(1 for f in figures.values() if f["met"])
    assert document["verdict"] == lines[-1]
    # The table has one row per figure, in the JSON's order.
    rows = [line for line in lines if line.startswith("| ") and not line.startswith(("| figure", "| ---"))]
    assert len(rows) == len(document["figures"])
    # Each side of an A/B figure has its summary and load average.
    for key in ("inbox_sqlite", "decision"):
        summaries = [v for v in figures[key]["detail"].values() if isinstance(v, dict) and "median" in v]
        assert len(summaries) >= 2, key
        assert all({"n", "min", "median", "p95", "load"} <= set(s) for s in summaries), key
