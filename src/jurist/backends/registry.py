"""Which backend a `--judge` spec names: a registry from kind to factory, so a new backend
(transformers, a batch API) registers itself instead of growing an if-chain."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jurist.backends.base import Backend
from jurist.core.errors import ConfigError
from jurist.core.secrets import redact_urls


@dataclass(frozen=True)
class JudgeSpec:
    """A parsed `--judge`: `kind`, then what follows the colon (a model, a path, a URL)."""

    kind: str
    target: str | None = None
    base_url: str | None = None
    # A chat template for the server's raw-text completions endpoint (`?chat_template=`).
    chat_template: str | None = None

    @property
    def model(self) -> str | None:
        return self.target

    def __iter__(self) -> Iterator[str | None]:
        """Unpacks as (kind, base_url, model), the shape callers destructure."""
        return iter((self.kind, self.base_url, self.target))


# Where an OpenAI-compatible backend finds its key unless told otherwise.
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"


@dataclass(frozen=True)
class BackendSettings:
    """Options a backend factory may use; each ignores what does not apply to it."""

    api_key_env: str = DEFAULT_API_KEY_ENV
    timeout: float = 120.0
    logprobs: bool | None = None
    structured: str = "auto"


Factory = Callable[[JudgeSpec, BackendSettings], Backend]
_FACTORIES: dict[str, Factory] = {}
_USAGE: dict[str, str] = {}


def register_backend(kind: str, factory: Factory, usage: str = "") -> None:
    """Make `--judge KIND[:...]` build a backend with `factory(spec, settings)`."""
    _FACTORIES[kind] = factory
    _USAGE[kind] = usage or f"{kind}:..."


def parse_judge_spec(spec: str | None) -> JudgeSpec:
    """A `--judge` string as a JudgeSpec; `None` or '' is the embedded judge."""
    if spec is None or spec in ("", "local"):
        return JudgeSpec("local")
    kind, _, rest = spec.partition(":")
    if kind not in _FACTORIES:
        shown = redact_urls(spec)
        raise ConfigError(f"unknown judge {shown!r}: use " + ", ".join(_USAGE.values()))
    if kind == "openai":
        if not rest:
            raise ConfigError("openai judge needs a model: openai:MODEL or openai:URL#MODEL")
        if rest.startswith(("http://", "https://")):
            url, _, model = rest.partition("#")
            url, template = _take_query_option(url, "chat_template")
            return JudgeSpec("openai", model or "default", url, template)
        return JudgeSpec("openai", rest, os.environ.get("OPENAI_BASE_URL"))
    return JudgeSpec(kind, rest or None)


def _take_query_option(url: str, key: str) -> tuple[str, str | None]:
    """The URL without `key` in its query string, and the key's value; other query
    parameters stay, since some servers need them."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    values = [v for k, v in pairs if k == key]
    if not values:
        return url, None
    if not values[-1]:
        raise ConfigError(f"{key} in the judge URL needs a value: ?{key}=NAME_OR_FILE")
    query = urlencode([(k, v) for k, v in pairs if k != key])
    return urlunsplit(parts._replace(query=query)), values[-1]


def make_backend(
    spec: str | None,
    *,
    api_key_env: str = DEFAULT_API_KEY_ENV,
    timeout: float = 120.0,
    logprobs: bool | None = None,
    structured: str = "auto",
) -> Backend:
    """Build the backend a spec names; heavy libraries are imported only when needed."""
    parsed = parse_judge_spec(spec)
    settings = BackendSettings(api_key_env, timeout, logprobs, structured)
    return _FACTORIES[parsed.kind](parsed, settings)


def _local(spec: JudgeSpec, settings: BackendSettings) -> Backend:
    from jurist.backends.llamacpp import LlamaCppBackend

    return LlamaCppBackend(spec.target)


def _openai(spec: JudgeSpec, settings: BackendSettings) -> Backend:
    from jurist.backends.chat_template import ChatTemplate
    from jurist.backends.openai import OpenAIBackend

    assert spec.target is not None
    template = ChatTemplate.load(spec.chat_template) if spec.chat_template else None
    return OpenAIBackend(
        spec.target,
        base_url=spec.base_url,
        api_key_env=settings.api_key_env,
        timeout=settings.timeout,
        structured=settings.structured,  # type: ignore[arg-type]
        logprobs=bool(settings.logprobs),
        chat_template=template,
    )


def _openai_batch(spec: JudgeSpec, settings: BackendSettings) -> Backend:
    from jurist.backends.openai_batch import OpenAIBatchBackend

    target = spec.target or ""
    if not target:
        raise ConfigError(
            "openai-batch judge needs a model: openai-batch:MODEL or openai-batch:URL#MODEL"
        )
    base_url: str | None = os.environ.get("OPENAI_BASE_URL")
    model = target
    if target.startswith(("http://", "https://")):
        base_url, _, model = target.partition("#")
    return OpenAIBatchBackend(
        model or "default",
        base_url=base_url,
        api_key_env=settings.api_key_env,
        timeout=settings.timeout,
        structured=settings.structured,
        logprobs=bool(settings.logprobs),
    )


def _hf(spec: JudgeSpec, settings: BackendSettings) -> Backend:
    from jurist.backends.hf import HFBackend

    return HFBackend(spec.target)


register_backend("local", _local, "local, local:PATH.gguf")
register_backend("hf", _hf, "hf:embedded, hf:PATH (model folder or .gguf)")
register_backend(
    "openai", _openai, "openai:MODEL, openai:URL#MODEL, openai:URL?chat_template=NAME#MODEL"
)
register_backend("openai-batch", _openai_batch, "openai-batch:MODEL, openai-batch:URL#MODEL")
