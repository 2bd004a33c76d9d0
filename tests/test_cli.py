"""The `crc` command line: migrate and seed against a temporary data directory."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import _host_port, app
from crc.settings import Settings, get_settings

runner = CliRunner()
PRODUCTION_SECRET = "p" * 40


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A clean environment whose CRC_DATA_DIR is a fresh temporary directory."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    monkeypatch.setenv("CRC_DATA_DIR", str(data))
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


def _count(db: Path, table: str) -> int:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one())
    finally:
        engine.dispose()


def test_migrate_creates_the_data_dir_and_the_schema(data_dir: Path) -> None:
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "is at the latest revision" in result.output
    assert (data_dir / "crc.db").is_file()
    assert _count(data_dir / "crc.db", "user") == 0
    again = runner.invoke(app, ["migrate"])
    assert again.exit_code == 0, again.output


def test_seed_fills_an_empty_database_once(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRC_DEMO_PASSWORD", "cli-demo")
    first = runner.invoke(app, ["seed"])
    assert first.exit_code == 0, first.output
    assert "Demo data seeded" in first.output
    assert _count(data_dir / "crc.db", "user") == 17  # one per role, and three scoped
    second = runner.invoke(app, ["seed"])
    assert second.exit_code == 0, second.output
    assert "demo seed skipped" in second.output
    assert _count(data_dir / "crc.db", "user") == 17


def test_seed_refuses_outside_dev(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRC_ENV", "production")
    monkeypatch.setenv("CRC_SECRET_KEY", PRODUCTION_SECRET)
    result = runner.invoke(app, ["seed"])
    assert result.exit_code == 1
    assert "demo users must not exist outside dev mode" in result.output
    assert not data_dir.exists()


def test_dev_refuses_outside_dev(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRC_ENV", "production")
    monkeypatch.setenv("CRC_SECRET_KEY", PRODUCTION_SECRET)
    result = runner.invoke(app, ["dev"])
    assert result.exit_code == 1
    assert "Refusing to run the dev stack" in result.output
    assert not data_dir.exists()


def test_a_refused_configuration_is_reported(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRC_ENV", "production")
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 2
    assert "Configuration refused" in result.output
    assert "CRC_SECRET_KEY must be set" in result.output
    assert not data_dir.exists()


def test_migrate_in_production_with_a_secret(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRC_ENV", "production")
    monkeypatch.setenv("CRC_SECRET_KEY", PRODUCTION_SECRET)
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    assert _count(data_dir / "crc.db", "member") == 0


def test_an_unreachable_database_is_reported(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://crc:hunter2@127.0.0.1:1/crc?connect_timeout=2")
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 1
    assert "Cannot reach the database postgresql://crc:***@127.0.0.1:1/crc" in result.output
    assert "hunter2" not in result.output


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1:7233", ("127.0.0.1", 7233)),
        ("temporal:7233", ("temporal", 7233)),
        (":17233", ("127.0.0.1", 17233)),
    ],
)
def test_temporal_address_is_split_into_host_and_port(address: str, expected: tuple[str, int]) -> None:
    assert _host_port(address) == expected
