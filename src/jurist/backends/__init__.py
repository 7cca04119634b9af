"""Judge backends, the `--judge` spec that picks one, and the layers around them.

Specs: `local` (the embedded Gemma model), `local:/path/model.gguf`, `openai:gpt-4o-mini`
(api.openai.com, or `OPENAI_BASE_URL`), `openai:http://127.0.0.1:8000/v1#model-name`, and
`openai-batch:MODEL` / `openai-batch:URL#MODEL` for the Batch API.
A new kind of backend plugs in with `register_backend(kind, factory)`; nothing else changes.

Modules here are public unless their name starts with `_`; a `_name`, module or
symbol, is never imported from outside this package (tests included).
"""

from jurist.backends.base import Backend, BackendError, CallStats, identity_of
from jurist.backends.caching import CachingBackend
from jurist.backends.limiting import AdaptiveLimit, LimitingBackend, TokenBucket
from jurist.backends.registry import (
    DEFAULT_API_KEY_ENV,
    BackendSettings,
    JudgeSpec,
    make_backend,
    parse_judge_spec,
    register_backend,
)
from jurist.backends.retrying import RetryingBackend, RetryPolicy
from jurist.backends.stack import CallPolicy, layered

__all__ = [
    "DEFAULT_API_KEY_ENV",
    "AdaptiveLimit",
    "Backend",
    "BackendError",
    "BackendSettings",
    "CachingBackend",
    "CallPolicy",
    "CallStats",
    "JudgeSpec",
    "LimitingBackend",
    "RetryPolicy",
    "RetryingBackend",
    "TokenBucket",
    "identity_of",
    "layered",
    "make_backend",
    "parse_judge_spec",
    "register_backend",
]
