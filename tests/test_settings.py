"""Settings: defaults for local development, and a refused secret outside dev."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from crc.settings import DEV_SECRET, GENERATE_SECRET, Settings

GOOD_SECRET = "vJ3q-8mZcT1xR0bWn4LkYp7sQe2HgAu9"  # 32 characters, as secrets.token_urlsafe(24) gives
REFUSAL = "CRC_SECRET_KEY must be set to a random value of at least 32 characters"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting comes from the caller's environment or a stray .env file."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        (None, "it is the development placeholder"),
        ("", "it has 0 characters, fewer than 32"),
        (DEV_SECRET, "it is the development placeholder"),
        (GOOD_SECRET[:31], "it has 31 characters, fewer than 32"),
        ("a" * 32, "it is a shorter string repeated"),
        ("Xy7!" * 10, "it is a shorter string repeated"),
        ("aaaaaaaaaaaaaaaaaaaaaaaaabcdefgh", "its characters carry about 44 bits of entropy, fewer than 88"),
        ("abababababababababababababababac", "it uses only 3 different characters"),
        ("our-Production-SECRET-2026-v1-x9", "it contains the word 'secret'"),
        ("Tr0ub4dor&3-correct-password-horse", "it contains the word 'password'"),
        ("please-changeme-before-go-live-77", "it contains the word 'changeme'"),
    ],
    ids=[
        "missing", "empty", "placeholder", "31 characters", "one character", "repeated", "low entropy",
        "few characters", "secret", "password", "changeme",
    ],
)  # fmt: skip
def test_outside_dev_a_weak_secret_is_refused(
    monkeypatch: pytest.MonkeyPatch, secret: str | None, why: str
) -> None:
    monkeypatch.setenv("CRC_ENV", "production")
    if secret is not None:
        monkeypatch.setenv("CRC_SECRET_KEY", secret)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert len(refused.value.errors()) == 1
    message = str(refused.value.errors()[0]["msg"])
    assert REFUSAL in message
    assert f"but {why}; generate one with: {GENERATE_SECRET}" in message


@pytest.mark.parametrize(
    "secret", [GOOD_SECRET, "0f8c2d1e9b7a6354c2e1f0a9b8c7d6e5", "p@ss-" + "Zq81Lm4Vx0Rt6Yw2Nc9Ku3Bh7Gs5"]
)
def test_outside_dev_random_looking_secrets_are_accepted(
    monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    monkeypatch.setenv("CRC_ENV", "production")
    monkeypatch.setenv("CRC_SECRET_KEY", secret)
    accepted = Settings().CRC_SECRET_KEY
    assert accepted == secret


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"CRC_SESSION_IDLE_MINUTES": "0"}, "CRC_SESSION_IDLE_MINUTES must be above 0"),
        ({"CRC_SESSION_IDLE_MINUTES": "61", "CRC_SESSION_MAX_HOURS": "1"}, "at most CRC_SESSION_MAX_HOURS"),
        ({"CRC_RATE_LIMIT_STORAGE": "memcached://cache:11211"}, "must be empty (the database) or a redis://"),
    ],
)
def test_unusable_session_and_throttle_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, overrides: dict[str, str], message: str
) -> None:
    for name, value in overrides.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert message in str(refused.value)


def test_session_and_docs_defaults() -> None:
    settings = Settings()
    assert (settings.CRC_SESSION_IDLE_MINUTES, settings.CRC_SESSION_MAX_HOURS) == (30, 8)
    assert settings.CRC_PUBLIC_API_DOCS is False
    assert settings.CRC_RATE_LIMIT_STORAGE == ""


def test_outside_dev_a_long_secret_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRC_ENV", "production")
    monkeypatch.setenv("CRC_SECRET_KEY", GOOD_SECRET)
    settings = Settings()
    assert settings.is_dev is False
    assert settings.CRC_SECRET_KEY == GOOD_SECRET


@pytest.mark.parametrize("secret", [None, "", "short"], ids=["missing", "empty", "short"])
def test_in_dev_any_secret_is_accepted(monkeypatch: pytest.MonkeyPatch, secret: str | None) -> None:
    if secret is not None:
        monkeypatch.setenv("CRC_SECRET_KEY", secret)
    settings = Settings()
    assert settings.is_dev is True
    secret_key = settings.CRC_SECRET_KEY
    assert secret_key == (DEV_SECRET if secret is None else secret)


def test_defaults_are_the_local_stack(tmp_path: Path) -> None:
    settings = Settings()
    assert settings.CRC_ENV == "dev"
    data_dir = settings.CRC_DATA_DIR
    assert data_dir == Path("var")
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'var' / 'crc.db'}"
    assert settings.TEMPORAL_ADDRESS == "127.0.0.1:7233"
    assert (settings.CRC_WEB_HOST, settings.CRC_WEB_PORT) == ("127.0.0.1", 8000)
    assert settings.CRC_TEMPORAL_UI_PORT == 8233
    assert settings.CRC_DEMO_PASSWORD == "demo"


def test_database_url_defaults_to_a_file_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CRC_DATA_DIR", str(tmp_path / "data"))
    assert Settings().database_url == f"sqlite:///{tmp_path.resolve() / 'data' / 'crc.db'}"


def test_database_url_is_used_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://crc:pw@db.example:5432/crc"
    monkeypatch.setenv("DATABASE_URL", url)
    assert Settings().database_url == url


def test_a_dotenv_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CRC_WEB_PORT=8123\n")
    assert Settings().CRC_WEB_PORT == 8123
