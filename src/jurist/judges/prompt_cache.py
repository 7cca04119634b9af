"""Prompts rendered once per criterion, then filled in per item.

A prompt is the same text for every item of a run except where the item's own texts
go, and rendering the Jinja template (its includes, macros and the whole rubric) costs
more CPU than everything else in a judgment against a fast server. So each (template,
criterion, options, item shape) is rendered once with stand-ins for the item's texts,
the result is cut at the stand-ins, and an item's prompt is the pieces joined with its
texts, fenced where the template fences them: the very text Jinja would have written.

An item's shape is everything else the template reads from it, found by reading the
template's syntax tree (its includes and imports too): whether it has a response and a
reference, and the values of the metadata keys it looks up. A template that reads the
item any other way, a conversation, a stand-in changed other than by fencing, an item
text at the very start or end of a prompt (the render strips it), and any skeleton whose
first real prompt differs from Jinja's own rendering of it are rendered as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from jinja2 import nodes

from jurist.core.data import Item
from jurist.prompts import environment, fence, render

# A stand-in holds a fence tag, so the skeleton shows whether the template fenced it.
_STANDIN = "\x00jurist-{name}<response>\x00"
_FENCED = fence(_STANDIN)
_TEXT_FIELDS = ("input", "response", "reference")
_PIECE = re.compile("\x00jurist-(\\w+)(<\\\\?response>)\x00")

# A piece of a skeleton: literal text, or (field, fenced) for an item's text.
Piece = str | tuple[str, bool]
# (has a response, has a reference, the metadata values the template looks up)
Shape = tuple[bool, bool, tuple[str, ...]]
_READABLE = frozenset({*_TEXT_FIELDS, "is_multi_turn"})


def _children(node: nodes.Node) -> Iterator[tuple[nodes.Node, nodes.Node]]:
    for child in node.iter_child_nodes():
        yield child, node
        yield from _children(child)


@cache
def metadata_keys(template: str) -> tuple[str, ...] | None:
    """The metadata keys a template (with what it includes or imports) reads as
    `item.metadata.get("key")`, when every other use of `item` is one of its texts or
    `is_multi_turn`; None when the template reads the item in any other way."""
    env = environment()
    keys: set[str] = set()
    pending, seen = [template], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        assert env.loader is not None
        tree = env.parse(env.loader.get_source(env, name)[0])
        parents: dict[int, nodes.Node] = {}
        for child, parent in _children(tree):
            parents[id(child)] = parent
            if isinstance(child, nodes.Include | nodes.Import | nodes.FromImport):
                if not isinstance(child.template, nodes.Const):
                    return None
                pending.append(child.template.value)
        for child, _ in _children(tree):
            if isinstance(child, nodes.Name) and child.name == "item":
                key = _read(child, parents)
                if key is None:
                    return None
                if key:
                    keys.add(key)
    return tuple(sorted(keys))


def _read(name: nodes.Name, parents: dict[int, nodes.Node]) -> str | None:
    """ "" for `item.<text or is_multi_turn>`, the key for `item.metadata.get("key")`,
    None for anything else."""
    attribute = parents.get(id(name))
    if not isinstance(attribute, nodes.Getattr) or attribute.node is not name:
        return None
    if attribute.attr in _READABLE:
        return ""
    method = parents.get(id(attribute))
    call = parents.get(id(method)) if method is not None else None
    if (
        attribute.attr != "metadata"
        or not isinstance(method, nodes.Getattr)
        or method.attr != "get"
        or not isinstance(call, nodes.Call)
        or call.node is not method
        or len(call.args) != 1
        or call.kwargs
        or not isinstance(call.args[0], nodes.Const)
        or not isinstance(call.args[0].value, str)
    ):
        return None
    return call.args[0].value


def _standin_item(shape: Shape, metadata: dict[str, Any]) -> Item:
    """An item whose texts are stand-ins (and whose id is one too, so a template that
    shows it is caught: such a stand-in is not one that can be filled in)."""
    has_response, has_reference, _ = shape
    texts = {name: _STANDIN.format(name=name) for name in (*_TEXT_FIELDS, "id", "response_b")}
    return Item.model_construct(
        id=texts["id"],
        input=texts["input"],
        response=texts["response"] if has_response else None,
        response_b=None,
        responses=(),
        reference=texts["reference"] if has_reference else None,
        labels={},
        metadata=metadata,
    )


def _pieces(text: str) -> list[Piece] | None:
    """The skeleton cut at its stand-ins, or None when one cannot be filled in safely."""
    parts = _PIECE.split(text)
    pieces: list[Piece] = []
    for position in range(0, len(parts), 3):
        pieces.append(parts[position])
        if position + 1 < len(parts):
            name, tag = parts[position + 1], parts[position + 2]
            if name not in _TEXT_FIELDS:
                return None
            pieces.append((name, tag != "<response>"))
    if "\x00" in "".join(p for p in pieces if isinstance(p, str)):
        return None  # a stand-in the template changed some other way
    if not pieces[0] or not pieces[-1].strip():  # type: ignore[union-attr]
        return None  # an item's text at the start or end would be stripped by the render
    return pieces


def _fill(pieces: list[Piece], item: Item) -> str:
    out: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            out.append(piece)
        else:
            name, fenced = piece
            value = getattr(item, name)
            out.append(fence(value) if fenced else value)
    return "".join(out)


class PromptCache:
    """One judge's skeletons; `render` gives exactly what `jurist.prompts.render` gives."""

    def __init__(
        self,
        renderer: Callable[..., str] = render,
        reads: Callable[[str], tuple[str, ...] | None] = metadata_keys,
    ) -> None:
        self._render = renderer
        self._reads = reads
        # key -> (pieces or None for "render each time", the context objects kept alive
        # so that the ids in the key are never reused while the entry exists)
        self._skeletons: dict[tuple[Any, ...], tuple[list[Piece] | None, tuple[Any, ...]]] = {}

    def render(self, template: str, item: Item, **context: Any) -> str:
        keys = None if item.is_multi_turn else self._reads(template)
        if keys is None or not isinstance(item.input, str):
            return self._render(template, item=item, **context)
        looked_up = {key: item.metadata.get(key) for key in keys}
        # Looked-up values enter the key by their repr: an item with another value gets
        # its own skeleton, checked against Jinja's rendering on its first use.
        values = tuple(repr(value) for value in looked_up.values())
        shape = (item.response is not None, bool(item.reference), values)
        key = (template, shape, *((name, id(value)) for name, value in context.items()))
        entry = self._skeletons.get(key)
        if entry is None:
            text = self._render(template, item=_standin_item(shape, looked_up), **context)
            pieces = _pieces(text)
            prompt = self._render(template, item=item, **context)
            if pieces is not None and _fill(pieces, item) != prompt:
                pieces = None
            self._skeletons[key] = (pieces, tuple(context.values()))
            return prompt
        pieces = entry[0]
        if pieces is None:
            return self._render(template, item=item, **context)
        return _fill(pieces, item)
