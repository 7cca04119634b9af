"""Which judge backends this machine can use now, as `jurist models` lists them: checked
without loading a model or calling a server, so a library caller can ask the same."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

from jurist.backends.llamacpp import DEFAULT_MODEL_FILE
from jurist.backends.openai import OPENAI_URL
from jurist.backends.registry import DEFAULT_API_KEY_ENV
from jurist.core.secrets import redact_urls


@dataclass(frozen=True)
class BackendStatus:
    """One judge spec form and whether (or how) it can be used here."""

    spec: str
    status: str


def backend_statuses() -> list[BackendStatus]:
    """The local embedded judge (is llama-cpp installed?), the OpenAI API (where, and is
    the key set?) and any OpenAI-compatible server, with credentials in URLs masked."""
    if importlib.util.find_spec("llama_cpp") is not None:
        local = f"available ({DEFAULT_MODEL_FILE}; a tiny base model for trying jurist offline)"
    else:
        local = "missing: pip install 'jurist[local]'"
    key = "set" if os.environ.get(DEFAULT_API_KEY_ENV) else "not set"
    base = redact_urls(os.environ.get("OPENAI_BASE_URL", OPENAI_URL))
    return [
        BackendStatus("local", local),
        BackendStatus("openai:MODEL", f"{base} ({DEFAULT_API_KEY_ENV} {key})"),
        BackendStatus(
            "openai:URL#MODEL",
            "any OpenAI-compatible server, e.g. vLLM or llama-server; URL?chat_template=NAME "
            "sends --rationale none --logprobs scores as one token",
        ),
    ]
