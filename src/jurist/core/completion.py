"""The contract between judges and backends: a Request in, a Completion out."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Field names per model class: `model_fields` is a descriptor that builds its answer on
# each read, and this runs for every completion and judgment.
_FIELD_NAMES: dict[type[BaseModel], frozenset[str]] = {}


def gather_extras(model: type[BaseModel], data: Any) -> Any:
    """A model's input with every key it has no field for moved into its `extras` mapping."""
    if not isinstance(data, dict):
        return data
    names = _FIELD_NAMES.get(model)
    if names is None:
        names = _FIELD_NAMES[model] = frozenset(model.model_fields)
    if names.issuperset(data):
        return data
    unknown = [key for key in data if key not in names]
    fixed = {key: value for key, value in data.items() if key in names}
    fixed["extras"] = {**{key: data[key] for key in unknown}, **(data.get("extras") or {})}
    return fixed


class ScoreSlot(BaseModel):
    """A place in the answer where a score token is emitted, and the tokens allowed there.

    Backends that can read token probabilities report a distribution over `choices` at
    the n-th position where `marker` (e.g. '"score":') has just been written.
    """

    model_config = ConfigDict(frozen=True)

    marker: str
    choices: tuple[str, ...]


class Request(BaseModel):
    """One call to a judge model: chat messages, an optional JSON schema, sampling params."""

    model_config = ConfigDict(frozen=True)

    messages: tuple[dict[str, str], ...]
    json_schema: dict[str, Any] | None = None
    score_slots: tuple[ScoreSlot, ...] = ()
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int | None = None
    want_logprobs: bool = True
    # Which sample / parse retry this is; part of the cache key so repeats are new calls.
    attempt: int = 0
    tag: str = ""

    def cache_key(self, judge: str, model: str = "") -> str:
        """Hash of everything that changes the model's answer, and nothing that doesn't.

        `judge` is the backend's identity (kind, normalised server URL and model), so two
        servers that name their models alike never share an entry."""
        payload = {
            "backend": judge,
            "model": model,
            "messages": self.messages,
            "schema": self.json_schema,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
            "logprobs": self.want_logprobs and bool(self.score_slots),
            "attempt": self.attempt,
        }
        canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class Completion(BaseModel):
    """What a backend answered: text, token counts, latency and, where available, the
    log-probabilities over each score slot's choices."""

    text: str
    slot_logprobs: list[dict[str, float]] = Field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    finish_reason: str | None = None
    cached: bool = False
    # Requests sent to get this answer (retries and format probes included); 0 when the
    # answer came from the cache or from an identical request already in flight.
    attempts: int = 1
    # What only some backends read, by name: the white-box `hf` backend keeps, one entry per
    # score slot, `layer_logprobs` (every layer's, logit lens), `lager_logprobs`,
    # `probe_values` and `hidden_keys` (the hidden states kept on disk). A feature adds a key
    # here rather than a field, so the contract stays the same for every backend.
    extras: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _gather_extras(cls, data: Any) -> Any:
        """Keys that are not fields go into `extras` (completions cached before it existed
        kept the white-box readings at the top level)."""
        return gather_extras(cls, data)


@dataclass(frozen=True)
class ValueOnly:
    """A request whose answer is one value and nothing else (`{"score": 4}`): the text
    before the value is fixed, so a backend that can append it to the prompt answers in one
    step, picking among the choices' first tokens where the score slot is read."""

    opening: str
    # Each choice and the whole answer text when it is picked.
    answers: dict[str, str]


def value_only(request: Request) -> ValueOnly | None:
    """The one-step plan for a schema with a single enumerated value (`--rationale none`);
    None for anything else."""
    schema = request.json_schema
    if schema is None or len(request.score_slots) != 1 or schema.get("type") != "object":
        return None
    properties = schema.get("properties") or {}
    if len(properties) != 1 or schema.get("required") != list(properties):
        return None
    (key, value_schema), slot = next(iter(properties.items())), request.score_slots[0]
    kind, values = value_schema.get("type"), value_schema.get("enum")
    if kind not in {"integer", "string"} or not values:
        return None
    if [str(v) for v in values] != list(slot.choices):
        return None
    quote = '"' if kind == "string" else ""
    opening = "{" + json.dumps(key) + ": " + quote
    if not re.search(slot.marker, opening):
        return None  # the slot would not be read at this position
    return ValueOnly(opening, {c: opening + c + quote + "}" for c in slot.choices})
