"""What a trainer hands a reward function, as items a judge can read.

TRL passes prompts and completions either as strings or, for conversational data sets, as
lists of chat messages; both become the same `Item` (a chat prompt is a conversation, the
completion's assistant text is the response).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jurist.core.data import Item, Message, chat_content_text
from jurist.core.errors import InputError

WHERE = "reward inputs"


def _messages(value: Any, field: str, row: int) -> list[Mapping[str, Any]]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        problem = f"expected text or a list of chat messages, got {type(value).__name__}"
        raise InputError(WHERE, row, field, problem)
    for number, message in enumerate(value):
        if not isinstance(message, Mapping) or "content" not in message:
            problem = f"message {number} is not a chat message with a 'content'"
            raise InputError(WHERE, row, field, problem)
    return list(value)


def _text(message: Mapping[str, Any], field: str, row: int, number: int) -> str:
    content = message["content"]
    if content is None:
        return ""
    try:
        return chat_content_text(content)
    except ValueError as error:
        raise InputError(WHERE, row, field, f"message {number} {error}") from None


def completion_text(completion: Any, row: int = 0) -> str:
    """A completion's text; a chat completion's assistant turns joined (tool results and
    other roles are context the judge does not grade)."""
    if isinstance(completion, str):
        return completion
    messages = _messages(completion, "completions", row)
    texts = [
        _text(m, "completions", row, n)
        for n, m in enumerate(messages)
        if m.get("role", "assistant") == "assistant"
    ]
    return "\n".join(t for t in texts if t)


def prompt_input(prompt: Any, row: int = 0) -> str | list[Message]:
    """A prompt as an item's input: text as it is, chat messages as a conversation."""
    if isinstance(prompt, str):
        return prompt
    messages = _messages(prompt, "prompts", row)
    return [
        Message(role=str(m.get("role", "user")), content=_text(m, "prompts", row, n))
        for n, m in enumerate(messages)
    ]


def items_from(
    prompts: Sequence[Any],
    completions: Sequence[Any],
    references: Sequence[Any] | None = None,
) -> list[Item]:
    """One item per (prompt, completion) pair, in order; ids are the positions."""
    if len(prompts) != len(completions):
        raise InputError(
            WHERE,
            field="completions",
            problem=f"{len(completions)} completions for {len(prompts)} prompts",
        )
    items = []
    for row, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
        reference = None
        if references is not None:
            value = references[row]
            reference = None if value is None else str(value)
        items.append(
            Item(
                id=str(row),
                input=prompt_input(prompt, row),
                response=completion_text(completion, row),
                reference=reference,
            )
        )
    return items


def completion_lengths(
    completions: Sequence[Any], completion_ids: Sequence[Sequence[int]] | None, unit: str
) -> list[int]:
    """Lengths in characters, or in tokens from the trainer's `completion_ids`."""
    if unit == "tokens":
        if completion_ids is None:
            raise InputError(
                WHERE,
                field="completion_ids",
                problem="a length penalty in tokens needs the trainer's completion_ids",
            )
        return [len(ids) for ids in completion_ids]
    return [len(completion_text(c, row)) for row, c in enumerate(completions)]
