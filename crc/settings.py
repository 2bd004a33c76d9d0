"""Configuration read from the environment, one object for every process."""

import math
from collections import Counter
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crc.domain import MAX_UNDO_SECONDS

UNDO_SECONDS_DEFAULT = 10  # the window: long enough to notice a slip, short enough to wait

DEV_SECRET = "dev-only-insecure-secret-change-me"  # noqa: S105 - the placeholder refused outside dev
SECRET_MIN_LENGTH = 32
# A random 32-character secret has well over this many (about 150 bits for base64, 110 for hex);
# "a" * 32 has 0 and a few repeated words far fewer.
SECRET_MIN_BITS = 88
SECRET_MIN_DISTINCT = 8
# Words that only a human-chosen secret contains. Five letters or more: a random 64-character
# secret contains one of these with odds of about one in a million.
SECRET_WORDS = ("secret", "password", "passwd", "changeme", "default", "example", "insecure", "letmein",
                "qwerty", "admin", "crc-deployments")  # fmt: skip
GENERATE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'  # noqa: S105 - a command, not a secret


def secret_problem(secret: str) -> str | None:
    """Why a secret is too weak for production, or None when it will do."""
    if len(secret) < SECRET_MIN_LENGTH:
        return f"it has {len(secret)} characters, fewer than {SECRET_MIN_LENGTH}"
    lowered = secret.lower()
    if word := next((w for w in SECRET_WORDS if w in lowered), None):
        return f"it contains the word {word!r}"
    if secret in (secret + secret)[1:-1]:  # true exactly when it is a shorter string repeated
        return "it is a shorter string repeated"
    counts = Counter(secret)
    if len(counts) < SECRET_MIN_DISTINCT:
        return f"it uses only {len(counts)} different characters"
    # Shannon entropy of the characters as they occur, times the length: a simple estimate.
    bits = -len(secret) * sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    if bits < SECRET_MIN_BITS:
        return f"its characters carry about {bits:.0f} bits of entropy, fewer than {SECRET_MIN_BITS}"
    return None


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
    CRC_COOKIE_SECURE: bool = False  # also turns on Strict-Transport-Security
    # Page sessions end after this long without a request, and this long after sign-in anyway.
    CRC_SESSION_IDLE_MINUTES: float = 30
    CRC_SESSION_MAX_HOURS: float = 8
    # Outside dev, /docs, /redoc and /openapi.json need a signed-in admin unless this is true.
    CRC_PUBLIC_API_DOCS: bool = False
    # Where sign-in failures are counted: empty for the database, or a Redis URL (redis://...).
    CRC_RATE_LIMIT_STORAGE: str = ""

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
    # A decision taken in the pages is held by its workflow this long (Temporal time) before it
    # takes effect, so an Undo can withdraw it.
    CRC_UNDO_SECONDS: int = Field(default=UNDO_SECONDS_DEFAULT, ge=1, le=MAX_UNDO_SECONDS)
    # Email goes out over SMTP (`make run` starts a local sink on this port that keeps every
    # message under CRC_DATA_DIR/mail/); links in it start with CRC_BASE_URL.
    CRC_SMTP_HOST: str = "127.0.0.1"
    CRC_SMTP_PORT: int = 8025
    CRC_SMTP_USER: str = ""
    CRC_SMTP_PASSWORD: str = ""
    CRC_SMTP_STARTTLS: bool = False
    CRC_MAIL_FROM: str = "Civilian Response Corps <deployments@crc.example.gov>"
    CRC_BASE_URL: str = "http://127.0.0.1:8000"
    # Webhook URLs outside dev must be https and may not reach loopback, private, link-local or
    # reserved addresses unless their host is named here (comma-separated hostnames).
    CRC_WEBHOOK_ALLOW_HOSTS: str = ""
    # A failed webhook delivery is tried again after this many seconds, then twice as long each
    # time (at most an hour apart) for a day.
    CRC_WEBHOOK_RETRY_INITIAL_SECONDS: float = Field(default=5, gt=0, le=3600)
    # The worker keeps at most this many workflows in its sticky cache (the SDK's default, 1,000,
    # held every open deployment in memory); an evicted one replays its history when it next wakes.
    # 100 measured (bench/worker_rss.py): 201 MB at 1,000 open deployments, +0.7 MB per 100 past it.
    CRC_WORKER_MAX_CACHED_WORKFLOWS: int = Field(default=100, ge=0)
    # … and works on at most this many workflow tasks at once.
    CRC_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: int = Field(default=50, ge=2)

    @property
    def is_dev(self) -> bool:
        """True when running the local development stack."""
        return self.CRC_ENV == "dev"

    @property
    def webhook_allow_hosts(self) -> frozenset[str]:
        """The hostnames a webhook may reach even when they resolve to a private address."""
        return frozenset(
            h.strip().lower().rstrip(".") for h in self.CRC_WEBHOOK_ALLOW_HOSTS.split(",") if h.strip()
        )

    @property
    def database_url(self) -> str:
        """The configured database URL, or the default SQLite file under the data directory."""
        if self.DATABASE_URL:
            return self.DATABASE_URL
        return f"sqlite:///{(self.CRC_DATA_DIR / 'crc.db').resolve()}"

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> "Settings":
        if self.is_dev:
            return self
        problem = "it is the development placeholder" if self.CRC_SECRET_KEY == DEV_SECRET else None
        problem = problem or secret_problem(self.CRC_SECRET_KEY)
        if problem:
            raise ValueError(
                f"CRC_SECRET_KEY must be set to a random value of at least {SECRET_MIN_LENGTH} characters "
                f"outside dev mode (CRC_ENV != 'dev'), but {problem}; generate one with: {GENERATE_SECRET}"
            )
        return self

    @model_validator(mode="after")
    def _refuse_unusable_session_times(self) -> "Settings":
        if not 0 < self.CRC_SESSION_IDLE_MINUTES <= self.CRC_SESSION_MAX_HOURS * 60:
            raise ValueError(
                "CRC_SESSION_IDLE_MINUTES must be above 0 and at most CRC_SESSION_MAX_HOURS (in minutes)"
            )
        if self.CRC_RATE_LIMIT_STORAGE and not self.CRC_RATE_LIMIT_STORAGE.startswith(
            ("redis://", "rediss://")
        ):
            raise ValueError("CRC_RATE_LIMIT_STORAGE must be empty (the database) or a redis:// URL")
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
