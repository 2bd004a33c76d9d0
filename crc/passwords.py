"""Argon2 password hashing."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the user does not exist, so timing does not reveal who does.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
# The password_hash of a user who has not set a password yet: no password matches it.
NO_PASSWORD = "!"  # noqa: S105 - a marker no argon2 hash starts with


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when the password matches; spends the same time when there is no hash (or NO_PASSWORD)."""
    usable = password_hash if password_hash and not password_hash.startswith(NO_PASSWORD) else None
    try:
        return _hasher.verify(usable or _DUMMY_HASH, password) and usable is not None
    except (VerificationError, InvalidHashError):
        return False
