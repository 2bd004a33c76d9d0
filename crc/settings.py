"""Configuration read from the environment, one object for every process."""

from functools import lru_cache
from pathlib import Path

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-insecure-secret-change-me"  # noqa: S105 - the placeholder refused outside dev


class Settings(BaseSettings):
    """Every setting, with the local-development default."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)

    CRC_ENV: str = "dev"  # "dev" seeds demo users and tolerates the placeholder secret
    CRC_SECRET_KEY: str = DEV_SECRET
    CRC_DATA_DIR: Path = Path("var")
    DATABASE_URL: str = ""  # empty: a SQLite file in CRC_DATA_DIR
    TEMPORAL_ADDRESS: str = "127.0.0.1:7233"
    TEMPORAL_NAMESPACE: str = "default"
    TEMPORAL_TASK_QUEUE: str = "crc-deployments"
    CRC_WEB_HOST: str = "127.0.0.1"
    CRC_WEB_PORT: int = 8000
    CRC_TEMPORAL_UI_PORT: int = 8233
    CRC_DEMO_PASSWORD: str = "demo"  # noqa: S105 - the documented demo password, dev only
    CRC_TOKEN_TTL_SECONDS: int = 8 * 3600
    CRC_COOKIE_SECURE: bool = False

    # Approval due times: Active members are urgent (hours), Standby ones are not (days).
    CRC_APPROVAL_DUE_CALL_UP_HOURS: float = 4
    CRC_APPROVAL_DUE_ACTIVE_HOURS: float = 24
    CRC_APPROVAL_DUE_STANDBY_DAYS: float = 5
    # The reminder goes out this fraction of the due time before the task is due.
    CRC_APPROVAL_REMINDER_FRACTION: float = 0.25
    # Deployed members check in this often; a check-in this late past due alerts Operations.
    CRC_CHECK_IN_EVERY_DAYS: float = 7
    CRC_CHECK_IN_GRACE_HOURS: float = 24
    # An inbox claim lapses, so a forgotten one cannot block a task: after this many hours on an
    # urgent task (due within 24 hours of being opened), else after this many working days.
    CRC_CLAIM_URGENT_HOURS: float = 4
    CRC_CLAIM_WORKING_DAYS: int = 2

    @property
    def is_dev(self) -> bool:
        """True when running the local development stack."""
        return self.CRC_ENV == "dev"

    @property
    def database_url(self) -> str:
        """The configured database URL, or the default SQLite file under the data directory."""
        if self.DATABASE_URL:
            return self.DATABASE_URL
        return f"sqlite:///{(self.CRC_DATA_DIR / 'crc.db').resolve()}"

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> "Settings":
        if not self.is_dev and (
            not self.CRC_SECRET_KEY or self.CRC_SECRET_KEY == DEV_SECRET or len(self.CRC_SECRET_KEY) < 32
        ):
            raise ValueError(
                "CRC_SECRET_KEY must be set to a random value of at least 32 characters "
                "outside dev mode (CRC_ENV != 'dev')"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
