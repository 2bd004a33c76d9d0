"""Settings: defaults for local development, and a refused secret outside dev."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from crc.settings import DEV_SECRET, Settings

GOOD_SECRET = "k" * 32
REFUSAL = "CRC_SECRET_KEY must be set to a random value of at least 32 characters"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting comes from the caller's environment or a stray .env file."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    "secret", [None, "", DEV_SECRET, "x" * 31], ids=["missing", "empty", "placeholder", "short"]
)
def test_outside_dev_a_weak_secret_is_refused(monkeypatch: pytest.MonkeyPatch, secret: str | None) -> None:
    monkeypatch.setenv("CRC_ENV", "production")
    if secret is not None:
        monkeypatch.setenv("CRC_SECRET_KEY", secret)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert len(refused.value.errors()) == 1
    assert REFUSAL in str(refused.value)


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
