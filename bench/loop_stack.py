"""The whole dev stack (`crc dev`: Temporal dev server, worker, web, mail sink) in a temporary
directory on free ports, for the load scripts beside this one (signin_load, starts_load, worker_rss).

`repo` chooses the checkout whose code runs, so one script measures before and after a change.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import col

from crc.tables import Member

HERE = Path(__file__).resolve().parent.parent
READY_SECONDS = 180.0


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DevStack:
    """`python -m cli dev` as a subprocess group of our own, stopped with Ctrl-C on exit."""

    def __init__(self, repo: Path = HERE, **env: str) -> None:
        self.repo = repo
        self.dir = Path(tempfile.mkdtemp(prefix="crc-bench-"))
        self.web_port, self.temporal_port = free_port(), free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CRC_", "TEMPORAL_", "DATABASE_"))},
            "PYTHONPATH": str(repo),
            "CRC_DATA_DIR": str(self.dir),
            "CRC_WEB_PORT": str(self.web_port),
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
            "CRC_TEMPORAL_UI_PORT": str(free_port()),
            "CRC_SMTP_PORT": str(free_port()),
            **env,
        }
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def database_url(self) -> str:
        """The stack's SQLite file."""
        return f"sqlite:///{self.dir / 'crc.db'}"

    def __enter__(self) -> "DevStack":
        log = (self.dir / "stack.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", "dev"],
            cwd=self.repo, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the stack stopped: see {self.dir / 'stack.log'}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the stack did not come up in {READY_SECONDS} s: see {self.dir / 'stack.log'}")

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def child_pid(self, *words: str) -> int:
        """The pid of the stack's process whose command line holds these words (e.g. "cli", "worker")."""
        assert self.process is not None
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                # The stack's children: `crc dev` starts each in a process group of its own.
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if parent != self.process.pid:
                    continue
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except (OSError, ValueError, IndexError):
                continue
            if all(w.encode() in argv for w in words):
                return int(entry.name)
        raise LookupError(f"no process {' '.join(words)} in the stack")

    def add_members(self, count: int) -> list[int]:
        """`count` Active roster members of the bench's own, each free for a deployment; their ids."""
        engine = sa.create_engine(self.database_url)
        tag = uuid.uuid4().hex[:8]
        rows: list[dict[str, Any]] = [
            {
                "name": f"Bench {tag} {i}", "email": "", "agency": "State", "component": "active",
                "sectors": ["rule_of_law"], "languages": ["en"], "clearance_level": "secret",
                "annual_salary_usd": 100000,
            }
            for i in range(count)
        ]  # fmt: skip
        with engine.begin() as conn:
            conn.execute(sa.insert(Member), rows)
            ids = conn.execute(sa.select(col(Member.id)).where(col(Member.name).like(f"Bench {tag} %"))).all()
        engine.dispose()
        return [int(row[0] or 0) for row in ids]

    def count(self, statement: str, **params: Any) -> int:
        """One number from the stack's database."""
        engine = sa.create_engine(self.database_url)
        with engine.connect() as conn:
            value = conn.execute(sa.text(statement), params).scalar_one()
        engine.dispose()
        return int(value)


def token(url: str, username: str = "requester", password: str = "demo") -> str:  # noqa: S107 - the demo one
    """A bearer token for a demo user."""
    response = httpx.post(f"{url}/api/v1/auth/token", data={"username": username, "password": password})
    response.raise_for_status()
    return str(response.json()["access_token"])


def request_body(member_id: int) -> dict[str, Any]:
    """A valid request for the member: Juba, ten days from now, for 30 days."""
    return {
        "member_id": member_id, "post_code": "JUB", "sector": "rule_of_law", "role_title": "Adviser",
        "start_date": (date.today() + timedelta(days=10)).isoformat(), "duration_days": 30,
        "justification": "Benchmark load",
    }  # fmt: skip


def percentile(values: list[float], fraction: float) -> float:
    """The value at this fraction of the sorted values (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def load_average() -> str:
    """The 1-minute load average, for the record."""
    return f"{os.getloadavg()[0]:.2f}"
