"""The `crc` command line: migrate and seed against a temporary data directory."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import _host_port, app
from crc.settings import Settings, get_settings

runner = CliRunner()
PRODUCTION_SECRET = "Qm7vX2-kLr9TzB4wNc8Hs1YdPf6JgEa0UoI3"  # random-looking, as production needs


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
    assert _count(data_dir / "crc.db", "user") == 18  # one per role, and three scoped
    second = runner.invoke(app, ["seed"])
    assert second.exit_code == 0, second.output
    assert "demo seed skipped" in second.output
    assert _count(data_dir / "crc.db", "user") == 18


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


# --- crc users, and the demo-password guard ------------------------------------------------------


def _migrated_with_users(data_dir: Path, **passwords: str) -> Path:
    """A migrated SQLite database in the data directory with these users (username=password)."""
    from crc.passwords import hash_password

    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    db = data_dir / "crc.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.begin() as conn:
            for username, password in passwords.items():
                conn.execute(
                    sa.text(
                        "INSERT INTO user (username, full_name, password_hash, roles, scopes, is_active, "
                        "created_at) VALUES (:u, :u, :h, '[]', '{}', 1, '2026-01-01 00:00:00')"
                    ),
                    {"u": username, "h": hash_password(password)},
                )
    finally:
        engine.dispose()
    return db


def _production(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production settings from here on (the ones cached by an earlier command are dropped)."""
    monkeypatch.setenv("CRC_ENV", "production")
    monkeypatch.setenv("CRC_SECRET_KEY", PRODUCTION_SECRET)
    get_settings.cache_clear()


def _user_row(db: Path, username: str) -> sa.Row[tuple[str, bool, str | None]]:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            query = sa.text(
                "SELECT password_hash, is_active, tokens_valid_after FROM user WHERE username = :u"
            )
            return conn.execute(query, {"u": username}).one()
    finally:
        engine.dispose()


def _security_events(db: Path) -> list[tuple[str, str, str]]:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT kind, username, actor FROM security_event ORDER BY id"))
            return [(row.kind, row.username, row.actor) for row in rows]
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", ["web", "worker"])
def test_production_refuses_to_start_while_a_user_has_the_demo_password(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    _migrated_with_users(data_dir, admin="demo", planning="a long private passphrase", travel="demo")
    _production(monkeypatch)
    result = runner.invoke(app, [command])
    assert result.exit_code == 1
    assert "Refusing to start with CRC_ENV='production'" in result.output
    assert "these active users still have the demo password: admin, travel." in result.output
    assert "crc users set-password USERNAME" in result.output


def test_production_refuses_the_configured_demo_password_too(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _migrated_with_users(data_dir, admin="cli-demo")
    monkeypatch.setenv("CRC_DEMO_PASSWORD", "cli-demo")
    _production(monkeypatch)
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 1
    assert "demo password: admin." in result.output


def test_no_demo_password_lets_production_start(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli import _refuse_demo_passwords

    db = _migrated_with_users(data_dir, admin="demo", planning="a long private passphrase")
    assert runner.invoke(app, ["users", "disable", "admin"]).exit_code == 0
    _production(monkeypatch)
    _refuse_demo_passwords(get_settings())  # a disabled user's demo password does not count
    assert _user_row(db, "admin").is_active == 0


def test_users_sign_out_voids_tokens_and_is_audited(data_dir: Path) -> None:
    db = _migrated_with_users(data_dir, planning="a long private passphrase")
    result = runner.invoke(app, ["users", "sign-out", "planning"])
    assert result.exit_code == 0, result.output
    assert "planning is signed out everywhere: 0 page sessions ended, API tokens void." in result.output
    assert _user_row(db, "planning").tokens_valid_after is not None
    assert _security_events(db) == [("signed_out_everywhere", "planning", "cli")]


def test_users_disable(data_dir: Path) -> None:
    db = _migrated_with_users(data_dir, planning="a long private passphrase")
    result = runner.invoke(app, ["users", "disable", "planning"])
    assert result.exit_code == 0, result.output
    assert "planning is disabled and signed out everywhere." in result.output
    row = _user_row(db, "planning")
    assert (row.is_active, row.tokens_valid_after is not None) == (0, True)
    assert _security_events(db) == [("user_disabled", "planning", "cli")]


def test_users_set_password_asks_twice(data_dir: Path) -> None:
    from crc.passwords import verify_password

    db = _migrated_with_users(data_dir, planning="demo")
    result = runner.invoke(
        app, ["users", "set-password", "planning"], input="new passphrase\nnew passphrase\n"
    )
    assert result.exit_code == 0, result.output
    assert "planning has a new password and is signed out everywhere." in result.output
    assert "new passphrase" not in result.output
    row = _user_row(db, "planning")
    assert verify_password("new passphrase", row.password_hash)
    assert not verify_password("demo", row.password_hash)
    assert _security_events(db) == [("password_set", "planning", "cli")]


@pytest.mark.parametrize("command", [["sign-out"], ["disable"], ["set-password", "--password", "x"]])
def test_users_commands_name_an_unknown_user(data_dir: Path, command: list[str]) -> None:
    _migrated_with_users(data_dir)
    result = runner.invoke(app, ["users", command[0], "nobody", *command[1:]])
    assert result.exit_code == 1
    assert "No user is named 'nobody'." in result.output
