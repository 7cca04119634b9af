"""Keeping credentials out of everything jurist writes or prints.

Masking goes by where a credential stands, never by what arbitrary text looks like, so a
data file under `hf_data_exports/` or the word `sk-learn` stays whole (a masked path is a
run that cannot be resumed). `scrub` masks:

- every value the backends registered (API keys, passwords and keys from URLs), in each form
  it can take in a message or an echoing server's reply: raw, stripped, `repr`-escaped,
  percent-encoded and base64 (what a Basic-auth header carries);
- URL user info (`user:pass@`) and the values of secret-named query parameters (`?api-key=`,
  `&sig=`);
- the value of a secret-named header or assignment (`Authorization: Bearer ...`,
  `x-api-key: ...`, `"password": "..."`);
- a provider-shaped key (`sk-...`, `hf_...`) standing whole after `Bearer` or assigned to a
  name that ends in `key`, `token`, `secret` or `sig`.

The store, results files and errors all pass through `scrub`.
"""

from __future__ import annotations

import base64
import re
import threading
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlsplit, urlunsplit

_MASK = "***"
_MIN_SECRET = 4  # shorter values would mask ordinary words
_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

# Names that say their value is a credential, whatever it looks like (headers, query
# parameters, assignments), optionally after a prefix (`x-api-key`, `OPENAI_API_KEY`).
_STRONG_NAMES = (
    r"api[-_]?key|(?:access|auth|refresh|id|session)[-_]?token|client[-_]?secret"
    r"|(?:secret|private|subscription)[-_]?key|password|passwd|authorization"
)
# Names that may hold a credential or an ordinary value (`sort_key`): only a provider-shaped
# key is masked there, except in a URL's query string, where any value is.
_WEAK_NAMES = r"key|token|secret|sig|signature|pwd|auth"
_SECRET_NAME = re.compile(rf"(?:[\w.~-]*[-_])?(?:{_STRONG_NAMES}|{_WEAK_NAMES})", re.IGNORECASE)
_STRONG_NAME = re.compile(rf"(?:[\w-]*[-_])?(?:{_STRONG_NAMES})", re.IGNORECASE)
# How every name in both lists ends.
_NAME_ENDINGS = ("key", "token", "secret", "sig", "signature", "pwd", "auth", "password",
                 "passwd", "authorization")  # fmt: skip
_LONGEST_ENDING = max(map(len, _NAME_ENDINGS))
# Keys of common providers, as a whole token.
_KEY_SHAPE = re.compile(
    r"(?:(?:sk|gsk|pk|rk|xai|hf|ghp|gho|ghu|ghs|github_pat|glpat)[-_][A-Za-z0-9_\-]{11,}"
    r"|AIza[A-Za-z0-9_\-]{30,})(?![\w-])"
)
_SEPARATOR = re.compile(r"[:=]")
# What follows `name:` or `name=`: an optional quote and auth scheme, then the value.
_VALUE_AFTER = re.compile(
    r"[ \t]*[\"']?(?P<scheme>(?:Bearer|Basic|Token|Digest|ApiKey)[ \t]+)?"
    r"(?P<value>[^\s\"'&,;<>\\]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(rf"(?P<lead>\bBearer[ \t]+)(?:{_KEY_SHAPE.pattern})", re.IGNORECASE)
_LITERAL = re.compile(r"null|true|false|none|[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", re.IGNORECASE)
_NAME_HINTS = ("key", "token", "secret", "sig", "passw", "pwd", "auth")
_NAME_LIMIT = 64  # characters looked at before a separator for the name it follows

_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#@\s]+@")
_QUERY_PARAMETER = re.compile(r"(?P<lead>[?&;](?P<name>[\w.~%-]+)=)(?P<value>[^&#\s\"'<>\\]+)")


def _forms(value: str) -> set[str]:
    """The forms a credential takes in messages: as given, stripped, `repr`-escaped,
    percent-encoded and base64-encoded (standard and URL-safe, padded or not)."""
    forms = {value, value.strip(), repr(value)[1:-1], repr(value.strip())[1:-1]}
    for text in (value, value.strip()):
        forms.add(quote(text, safe=""))
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(text.encode("utf-8")).decode("ascii")
            forms.update((encoded, encoded.rstrip("=")))
    return forms


def register_secret(value: str | None) -> None:
    """Remember a credential so that `scrub` masks it, in every form, from now on."""
    if not value:
        return
    forms = _forms(value)
    with _lock:
        global _pattern
        added = {f for f in forms if len(f) >= _MIN_SECRET} - _secrets
        if added:
            _secrets.update(added)
            ordered = sorted(_secrets, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def is_secret_parameter(name: str) -> bool:
    """Whether a query parameter or header of this name carries a credential."""
    return _SECRET_NAME.fullmatch(unquote(name)) is not None


def _name_before(text: str, at: int) -> str:
    """The identifier that ends just before `at` (skipping blanks and one quote), or ''
    unless its name ends like a secret's (checked first: most separators follow none)."""
    end = at
    while end > 0 and text[end - 1] in " \t":
        end -= 1
    if end > 0 and text[end - 1] in "\"'":
        end -= 1
    if not text[max(0, end - _LONGEST_ENDING) : end].lower().endswith(_NAME_ENDINGS):
        return ""
    start = end
    while start > max(0, end - _NAME_LIMIT) and (
        text[start - 1].isalnum() or text[start - 1] in "_-"
    ):
        start -= 1
    return text[start:end]


def _masked_value(text: str, at: int) -> re.Match[str] | None:
    """The value after the separator at `at`, where its name and shape say it is a
    credential: any value of a secret name or after an auth scheme, only a provider-shaped
    key after a name that may also hold ordinary values."""
    name = _name_before(text, at)
    if not name:
        return None
    found = _VALUE_AFTER.match(text, at + 1)
    if found is None:
        return None
    value = found.group("value")
    if found.group("scheme") is not None or _STRONG_NAME.fullmatch(name):
        usable = len(value) >= _MIN_SECRET and not _LITERAL.fullmatch(value)
        return found if usable else None
    return found if _KEY_SHAPE.fullmatch(value) else None


def _mask_assignments(text: str) -> str:
    """`text` with the value after each `name:` / `name=` whose name marks a credential
    masked (headers, assignments, JSON fields)."""
    pieces: list[str] = []
    done = 0
    for separator in _SEPARATOR.finditer(text):
        if separator.start() < done:
            continue
        found = _masked_value(text, separator.start())
        if found is not None:
            pieces += [text[done : found.start("value")], _MASK]
            done = found.end("value")
    return "".join([*pieces, text[done:]]) if pieces else text


def _mask_parameter(match: re.Match[str]) -> str:
    """A query parameter with its value masked when its name marks a credential."""
    if not is_secret_parameter(match.group("name")):
        return match.group(0)
    return match.group("lead") + _MASK


def scrub(text: str) -> str:
    """`text` with every credential masked: registered values anywhere, anything else by
    its position (see the module's docstring).

    Runs on every completion, so each regex runs only when a cheap substring test says it
    could match."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(_MASK, text)
    if "://" in text or "=" in text:
        text = redact_urls(text)
    lowered = text.lower()
    if any(hint in lowered for hint in _NAME_HINTS):
        text = _mask_assignments(text)
    if "bearer" in lowered:
        text = _BEARER.sub(rf"\g<lead>{_MASK}", text)
    return text


def redact_urls(text: str) -> str:
    """Remove `user:password@` from every URL in the text, and mask the values of
    secret-named query parameters (other parameters stay)."""
    if "://" in text:
        text = _URL_USERINFO.sub(r"\g<scheme>", text)
    if "=" in text:
        text = _QUERY_PARAMETER.sub(_mask_parameter, text)
    return text


def query_credentials(url: str) -> list[str]:
    """The values of a URL's secret-named query parameters, registered as secrets."""
    found = [
        value
        for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True)
        if value and is_secret_parameter(name)
    ]
    for value in found:
        register_secret(value)
    return found


def split_credentials(url: str) -> tuple[str, str | None]:
    """(the URL without user info, the password or token it held), registering the latter
    (with `user:password`, whose base64 a Basic-auth header carries) and any key given as
    a query parameter."""
    query_credentials(url)
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    secret = parts.password or parts.username
    for form in {secret, unquote(secret or "")}:
        register_secret(form)
    if parts.password and parts.username:
        register_secret(f"{parts.username}:{parts.password}")
        register_secret(f"{unquote(parts.username)}:{unquote(parts.password)}")
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    clean = SplitResult(parts.scheme, host, parts.path, parts.query, parts.fragment)
    return urlunsplit(clean), secret


def normalise_url(url: str) -> str:
    """A base URL as it identifies a server: no credentials, lower-case scheme and host,
    default port dropped, no trailing slash; its query parameters (which some servers
    need: `?api-version=`) kept in a fixed order, secret ones masked."""
    clean, _ = split_credentials(url.strip())
    parts = urlsplit(clean)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    if parts.port is not None and parts.port != default:
        host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/")
    query = "&".join(sorted(p for p in parts.query.split("&") if p))
    return redact_urls(urlunsplit((scheme, host, path, query, "")))
