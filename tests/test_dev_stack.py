"""`crc dev` (what `make run` does): the whole stack starts, answers, stops cleanly, keeps its data."""

import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from crc.settings import Settings
from tests.conftest import temporal_cli_env, venv_binary
from workflows.reconcile import SCHEDULE_ID

pytestmark = pytest.mark.devserver

START_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _start(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cli", "dev"], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _wait_for_banner(process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "Ctrl-C stops everything" in text:
            return text
        if process.poll() is not None:
            pytest.fail(f"crc dev exited with {process.returncode}:\n{text}")
        time.sleep(0.5)
    process.kill()
    pytest.fail(f"crc dev did not come up in {START_TIMEOUT_S} s:\n{log.read_text(errors='replace')}")


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def _token(web_port: int, username: str, password: str) -> str:
    form = urllib.parse.urlencode({"username": username, "password": password}).encode()
    url = f"http://127.0.0.1:{web_port}/api/v1/auth/token"
    with urllib.request.urlopen(url, data=form, timeout=5) as response:
        return str(json.load(response)["access_token"])


def _temporal(temporal_port: int, *args: str) -> str:
    """What the real `temporal` CLI prints (JSON) against the stack's server."""
    return subprocess.run(  # noqa: S603 - the temporal binary of this environment
        [venv_binary("temporal"), *args, "--address", f"127.0.0.1:{temporal_port}", "--output", "json"],
        env=temporal_cli_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout


def _custom_search_attributes(temporal_port: int) -> dict[str, str]:
    listed = json.loads(_temporal(temporal_port, "operator", "search-attribute", "list"))
    return {k: v for k, v in listed["customAttributes"].items() if k.startswith("Crc")}


def test_dev_stack_starts_answers_stops_and_keeps_its_data(tmp_path: Path) -> None:
    ports = {"temporal": _free_port(), "ui": _free_port(), "web": _free_port(), "smtp": _free_port()}
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    env |= {
        "CRC_DATA_DIR": str(tmp_path / "var"),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{ports['temporal']}",
        "CRC_TEMPORAL_UI_PORT": str(ports["ui"]),
        "CRC_WEB_PORT": str(ports["web"]),
        "CRC_SMTP_PORT": str(ports["smtp"]),
        "CRC_DEMO_PASSWORD": "stack-demo",
    }
    project = Path(__file__).resolve().parent.parent

    first = _start(env, project, tmp_path / "first.log")
    try:
        banner = _wait_for_banner(first, tmp_path / "first.log")
        assert "Demo data seeded" in banner
        assert f"http://127.0.0.1:{ports['web']}/docs" in banner
        assert f"http://127.0.0.1:{ports['ui']}" in banner
        assert f"http://127.0.0.1:{ports['web']}/dev/mail (SMTP sink 127.0.0.1:{ports['smtp']}" in banner
        # The mail sink keeps what it is sent under CRC_DATA_DIR/mail.
        with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=5) as smtp:
            smtp.sendmail("a@crc.example.gov", ["planning@crc.example.gov"], b"Subject: hello\r\n\r\nhi\r\n")
        (kept,) = (tmp_path / "var" / "mail").glob("*.eml")
        assert b"Subject: hello" in kept.read_bytes()
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['web']}/healthz", timeout=5) as health:
            assert health.status == 200
        assert _token(ports["web"], "member", "stack-demo")
        assert (
            "Scoped: com_jub (Chief of Mission for JUB only), agency_usaid (Home agency for USAID "
            "only), director_planning (Director for planning only)"
        ) in banner
        assert _token(ports["web"], "com_jub", "stack-demo")
        assert _custom_search_attributes(ports["temporal"]) == {
            "CrcStage": "INDEXED_VALUE_TYPE_KEYWORD",
            "CrcPostCode": "INDEXED_VALUE_TYPE_KEYWORD",
            "CrcMemberId": "INDEXED_VALUE_TYPE_INT",
            "CrcComponent": "INDEXED_VALUE_TYPE_KEYWORD",
        }
        # The worker keeps the sweep for lost starts on a one-minute schedule.
        described = json.loads(
            _temporal(ports["temporal"], "schedule", "describe", "--schedule-id", SCHEDULE_ID)
        )
        assert described["schedule"]["spec"]["interval"] == [{"interval": "60s"}]
    finally:
        status = _stop(first)
    assert status == 0, (tmp_path / "first.log").read_text()
    first_log = (tmp_path / "first.log").read_text()
    assert "Stopped." in first_log
    # The dev server registered them before the worker started, so the worker added none.
    assert "search attributes" not in first_log
    assert not any(_port_open(port) for port in ports.values())
    assert (tmp_path / "var" / "crc.db").is_file()
    assert (tmp_path / "var" / "temporal.db").is_file()

    second = _start(env, project, tmp_path / "second.log")
    try:
        banner = _wait_for_banner(second, tmp_path / "second.log")
        assert "demo seed skipped" in banner
        assert _token(ports["web"], "admin", "stack-demo")
    finally:
        # Killed outright, it cannot stop its children: they go by themselves, freeing the ports.
        second.kill()
        second.wait()
    deadline = time.monotonic() + 30
    while any(_port_open(port) for port in ports.values()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(_port_open(port) for port in ports.values())
