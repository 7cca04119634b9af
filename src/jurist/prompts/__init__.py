"""Prompt templates: one Jinja2 file per judging mode, rendered with the rubric and the item.

Templates put the most shared text first (instructions and the rubric, then the item, then
what to grade) so that prefix caches reuse the long part across calls and an item's criteria.

Modules here are public unless their name starts with `_`; a `_name`, module or
symbol, is never imported from outside this package (tests included).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import jinja2

from jurist.core.data import Message
from jurist.core.defence import JUDGE_NOTE, QUOTES_HEADING, spaced

# Tags that fence judged text; a response that contains one of them cannot close the fence.
FENCE_TAGS = ("input", "conversation", "response", "response_a", "response_b", "reference")


# Any spelling a model may read as one of our tags: any case, spaces inside the brackets,
# attributes after the name.
_FENCE_TAG = re.compile(r"<\s*(/?)\s*(" + "|".join(FENCE_TAGS) + r")\b([^<>]*)>", re.IGNORECASE)


def fence(text: str) -> str:
    """Neutralise fence tags inside judged text so it cannot break out of its fence."""

    def escape(match: re.Match[str]) -> str:
        slash, name, rest = match.groups()
        return f"<\\{slash}{name}{rest}>" if slash else f"<\\{name}{rest}>"

    return _FENCE_TAG.sub(escape, text)


def transcript(turns: list[Message]) -> str:
    return "\n\n".join(f"[{turn.role}]\n{turn.content}" for turn in turns)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("jurist", "prompts"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
        # Package data never changes under a running process (and `templates_hash` is read
        # once): without this every render and include would stat its file again.
        auto_reload=False,
    )
    env.filters["fence"] = fence
    env.filters["transcript"] = transcript
    env.globals["judge_note"] = JUDGE_NOTE
    return env


@cache
def templates_hash() -> str:
    """Identifies the prompt templates, so a resumed run can refuse to mix two prompt versions.
    How the injection defence shows a flagged item (its note, its heading, how a quote spells
    characters) is in that item's prompt, so it counts too."""
    import hashlib
    from importlib.resources import files

    digest = hashlib.sha256("\n".join((JUDGE_NOTE, QUOTES_HEADING, spaced("a 5 ⟨"))).encode())
    for entry in sorted(files("jurist.prompts").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".j2"):
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    return digest.hexdigest()[:16]


@cache
def _template(name: str) -> jinja2.Template:
    return environment().get_template(name)


def render(template: str, **context: Any) -> str:
    return _template(template).render(**context).strip() + "\n"
