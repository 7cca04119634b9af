"""Chat templates rendered on the client.

A server's raw-text completions endpoint lets the client write the fixed beginning of an
answer for the model (`{"score": `), so a value-only answer is one generated token and the
server computes log-probabilities at that one position instead of at every token of the
answer. That needs the prompt exactly as the server's chat endpoint would build it: the same
template, rendered here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from jinja2 import Template
from jinja2.sandbox import ImmutableSandboxedEnvironment

from jurist.core.errors import ConfigError

# The built-in templates match the servers' own formatters: `gemma` is llama-cpp-python's
# `--chat_format gemma` (system messages are dropped, as that server drops them).
BUILTIN_TEMPLATES: dict[str, str] = {
    "gemma": (
        "{% for m in messages if m.role in ('user', 'assistant') %}"
        "<start_of_turn>{{ 'model' if m.role == 'assistant' else 'user' }}\n"
        "{{ m.content }}<end_of_turn>\n"
        "{% endfor %}"
        "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
    ),
    "chatml": (
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
        "{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    ),
}


def _raise(message: str) -> None:
    raise ConfigError(f"chat template: {message}")


@dataclass(frozen=True)
class ChatTemplate:
    """A named Jinja chat template (Hugging Face conventions: `messages`,
    `add_generation_prompt`, `raise_exception`)."""

    name: str
    source: str

    @classmethod
    def load(cls, spec: str) -> ChatTemplate:
        """A built-in name, a Jinja file, or a Hugging Face `tokenizer_config.json`."""
        if spec in BUILTIN_TEMPLATES:
            return cls(spec, BUILTIN_TEMPLATES[spec])
        path = Path(spec).expanduser()
        if not path.is_file():
            known = ", ".join(BUILTIN_TEMPLATES)
            raise ConfigError(f"chat template {spec!r}: not a built-in ({known}) nor a file")
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            try:
                config = json.loads(text)
            except ValueError as error:
                raise ConfigError(f"{path}: not JSON ({error})") from None
            template = config.get("chat_template") if isinstance(config, dict) else None
            if isinstance(template, list):  # several named templates: take the default
                named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
                template = named.get("default")
            if not isinstance(template, str):
                raise ConfigError(f"{path}: field 'chat_template' is missing or not a string")
            text = template
        return cls(str(path), text)

    @property
    def identity(self) -> str:
        """Name and content: an edited template file is a different judge to the cache."""
        return f"{self.name}:{hashlib.sha256(self.source.encode()).hexdigest()[:12]}"

    @cached_property
    def _compiled(self) -> Template:
        environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        environment.globals["raise_exception"] = _raise
        return environment.from_string(self.source)

    def render(self, messages: Iterable[Mapping[str, str]]) -> str:
        """The prompt text up to where the assistant's answer starts. BOS and EOS render
        empty: servers add BOS themselves when they tokenize a prompt."""
        return self._compiled.render(
            messages=[dict(m) for m in messages],
            add_generation_prompt=True,
            bos_token="",
            eos_token="",
        )
