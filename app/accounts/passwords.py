"""Password hashing (argon2id) and the password policy (NIST SP 800-63B: length and a common-password
check, no composition rules)."""

from __future__ import annotations

import re
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 256  # long enough for any passphrase, short enough that hashing cannot be used to exhaust CPU

_hasher = PasswordHasher()  # argon2id with the library's current RFC 9106 "low memory" parameters
# Verifying against this keeps a log-in for an unknown e-mail as slow as one for a known e-mail.
_DUMMY_HASH = _hasher.hash("recurra-timing-equaliser")
_SEPARATORS = re.compile(r"[\W_\d]+$")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of public breach corpora, as zxcvbn ships them."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _is_repetition_of_common(value: str) -> bool:
    for size in range(1, len(value) // 2 + 1):
        unit = value[:size]
        if len(value) % size == 0 and unit * (len(value) // size) == value:
            return size < 4 or unit in _common_passwords()
    return False


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why ``password`` is not acceptable, in words for the person choosing it; None when it is fine."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters. A few random words make a good password."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    core = _SEPARATORS.sub("", lowered)
    if lowered in _common_passwords() or core in _common_passwords() or _is_repetition_of_common(core or lowered):
        return "This password is one of the most common ones, so it is easy to guess. Choose another."
    personal = [part for part in (email.split("@")[0].lower(), name.lower().replace(" ", "")) if len(part) >= 4]
    if any(part in lowered.replace(" ", "") for part in personal):
        return "Don't use your name or e-mail address in your password."
    return None
