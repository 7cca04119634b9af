"""Judge backends and the `--judge` spec that picks one.

Specs: `local` (the embedded Gemma model), `local:/path/model.gguf`, `openai:gpt-4o-mini`
(api.openai.com, or `OPENAI_BASE_URL`), `openai:http://127.0.0.1:8000/v1#model-name`.
"""

from __future__ import annotations

import os

from jurist.backends.base import Backend, BackendError

__all__ = ["Backend", "BackendError", "make_backend", "parse_judge_spec"]


def parse_judge_spec(spec: str | None) -> tuple[str, str | None, str | None]:
    """(kind, base_url, model) from a judge spec."""
    if spec is None or spec in ("", "local"):
        return "local", None, None
    kind, _, rest = spec.partition(":")
    if kind == "local":
        return "local", None, rest or None
    if kind == "openai":
        if not rest:
            raise ValueError("openai judge needs a model: openai:MODEL or openai:URL#MODEL")
        if rest.startswith(("http://", "https://")):
            url, _, model = rest.partition("#")
            return "openai", url, model or "default"
        return "openai", os.environ.get("OPENAI_BASE_URL"), rest
    raise ValueError(
        f"unknown judge {spec!r}: use local, local:PATH.gguf, openai:MODEL or openai:URL#MODEL"
    )


def make_backend(
    spec: str | None,
    *,
    api_key_env: str = "OPENAI_API_KEY",
    timeout: float = 120.0,
    logprobs: bool | None = None,
    structured: str = "auto",
) -> Backend:
    """Build the backend a spec names; heavy libraries are imported only when needed."""
    kind, base_url, model = parse_judge_spec(spec)
    if kind == "local":
        from jurist.backends.llamacpp import LlamaCppBackend

        return LlamaCppBackend(model)
    from jurist.backends.openai import OpenAIBackend

    assert model is not None
    return OpenAIBackend(
        model,
        base_url=base_url,
        api_key_env=api_key_env,
        timeout=timeout,
        structured=structured,  # type: ignore[arg-type]
        logprobs=bool(logprobs),
    )
