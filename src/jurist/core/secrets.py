"""Keeping credentials out of everything jurist writes or prints.

Backends register every credential they are given (API keys, passwords in URLs); `scrub`
then removes each registered value, in any of the forms it can take in an error message or
an echoing server's reply (raw, stripped of whitespace, `repr`-escaped), plus anything shaped
like a well-known key. The store, results files and errors all pass through `scrub`.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import SplitResult, urlsplit, urlunsplit

_MASK = "***"
_MIN_SECRET = 4  # shorter values would mask ordinary words
_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

# Prefixed keys of common providers, in case one reaches a message unregistered.
_KEY_SHAPES = re.compile(
    r"\b((?:sk|gsk|pk|rk|xai|hf|ghp|gho|github_pat|AIza)[-_][A-Za-z0-9_\-]{3})[A-Za-z0-9_\-]{8,}"
)


def register_secret(value: str | None) -> None:
    """Remember a credential so that `scrub` masks it from now on."""
    if not value:
        return
    forms = {value, value.strip(), repr(value)[1:-1], repr(value.strip())[1:-1]}
    with _lock:
        global _pattern
        added = {f for f in forms if len(f) >= _MIN_SECRET} - _secrets
        if added:
            _secrets.update(added)
            ordered = sorted(_secrets, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(s) for s in ordered))


_KEY_HINTS = ("sk-", "sk_", "gsk_", "pk-", "pk_", "rk-", "rk_", "xai-", "xai_", "hf_", "hf-",
              "ghp_", "gho_", "github_pat_", "AIza")  # fmt: skip


def scrub(text: str) -> str:
    """`text` with every registered credential and key-shaped token masked.

    Runs on every completion, so each regex runs only when a cheap substring test says it
    could match."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(_MASK, text)
    if any(hint in text for hint in _KEY_HINTS):
        text = _KEY_SHAPES.sub(r"\1" + _MASK, text)
    if "@" in text and "://" in text:
        text = redact_urls(text)
    return text


_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s:]+(?::[^/@\s]*)?@")


def redact_urls(text: str) -> str:
    """Remove `user:password@` from every URL in the text."""
    return _URL_USERINFO.sub(r"\g<scheme>", text)


def split_credentials(url: str) -> tuple[str, str | None]:
    """(the URL without user info, the password or token it held), registering the latter."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    secret = parts.password or parts.username
    register_secret(secret)
    if parts.password and parts.username:
        register_secret(f"{parts.username}:{parts.password}")
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    clean = SplitResult(parts.scheme, host, parts.path, parts.query, parts.fragment)
    return urlunsplit(clean), secret


def normalise_url(url: str) -> str:
    """A base URL as it identifies a server: no credentials, lower-case scheme and host,
    default port dropped, no trailing slash."""
    clean, _ = split_credentials(url.strip())
    parts = urlsplit(clean)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    if parts.port is not None and parts.port != default:
        host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, host, path, parts.query, ""))
