"""What a new password must be: long enough, not a common one, not the user's own name."""

import re
from collections.abc import Iterable

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 128
# zxcvbn's score runs 0-4; below 3 it has found the password (or most of it) in its frequency
# lists of common passwords, words and names, or in a keyboard pattern, a date or a repeat.
MIN_SCORE = 3
# zxcvbn checks at most this many characters (its own limit); a longer password is long enough.
_CHECKED = 72
# Parts of a name shorter than this ("Al", "Li") are too short to call a password "made of them".
_NAME_PART_MIN = 3


def _name_parts(username: str, names: Iterable[str]) -> list[str]:
    parts = [username.lower()]
    for text in (username, *names):
        parts += [p for p in re.split(r"[^a-z0-9]+", text.lower()) if len(p) >= _NAME_PART_MIN]
    return list(dict.fromkeys(parts))


def password_problem(password: str, *, username: str, names: Iterable[str] = ()) -> str | None:
    """Why the password will not do (in words that say what to choose instead), or None."""
    if len(password) < MIN_LENGTH:
        return f"use at least {MIN_LENGTH} characters (this has {len(password)})"
    if len(password) > MAX_LENGTH:
        return f"use at most {MAX_LENGTH} characters"
    if not password.strip():
        return "use letters, digits or symbols, not only spaces"
    parts = _name_parts(username, names)
    lowered = password.lower()
    if found := next((part for part in parts if part in lowered), None):
        return f"do not use your username or name in it (it contains {found!r})"
    result = zxcvbn(password[:_CHECKED], user_inputs=parts)
    if result["score"] < MIN_SCORE:
        warning = str(result["feedback"].get("warning") or "").rstrip(".")
        why = f" ({warning[0].lower()}{warning[1:]})" if warning else ""
        return f"it is too easy to guess{why}; several unrelated words make a strong one"
    return None
