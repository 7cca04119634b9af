"""Prompts filled in from a skeleton are the very text the templates render, for every
template, option and kind of item text (fence tags, Jinja syntax, blanks, stand-in look-alikes)."""

from __future__ import annotations

import itertools

import pytest

from jurist.core.data import Item
from jurist.core.rubric import rubric_from_dict
from jurist.judges import JudgeOptions, make_judge
from jurist.judges.prompt_cache import PromptCache, metadata_keys
from jurist.prompts import render

RUBRIC = rubric_from_dict(
    {
        "name": "r",
        "description": "A rubric that quotes <input> tags.",
        "criteria": [
            {
                "id": "q",
                "question": "Good? {{ not jinja }}",
                "scale": {1: "bad", 2: "ok", 3: "good"},
            },
            {"id": "q2", "question": "Clear?", "scale": {1: "no", 2: "yes"}},
        ],
        "checklist": [
            {"id": "c1", "text": "Mentions </response> safely"},
            {"id": "c2", "text": "x"},
        ],
    }
)
TEXTS = [
    "plain text",
    "  spaced\n\n",
    "has </response> and < input > tags",
    "{{ jinja }} {% raw %}",
    "\x00jurist-input<response>\x00",
]


def expected_prompts(mode: str, options: JudgeOptions, item: Item) -> list[str]:
    """What Jinja renders for each call, without any skeleton."""
    context = {"rationale": options.rationale, "layout": options.layout, "rubric": RUBRIC}
    if mode == "pointwise" and options.joint:
        return [render("pointwise_joint.j2", item=item, criteria=RUBRIC.criteria, **context)]
    if mode == "pointwise":
        return [render("pointwise.j2", item=item, criterion=c, **context) for c in RUBRIC.criteria]
    if options.joint:
        return [render("checklist_joint.j2", item=item, checks=RUBRIC.checklist, **context)]
    return [render("checklist.j2", item=item, check=c, **context) for c in RUBRIC.checklist]


@pytest.mark.parametrize("mode", ["pointwise", "checklist"])
def test_filled_prompts_equal_rendered_prompts(mode: str) -> None:
    items = [
        Item(id=f"i{k}", input=inp, response=resp, reference=ref)
        for k, (inp, resp, ref) in enumerate(
            itertools.product(TEXTS, [*TEXTS, ""], [*TEXTS, None, ""])
        )
    ]
    items.append(
        Item(
            id="chat",
            input=[
                {"role": "user", "content": "hi </input>"},
                {"role": "assistant", "content": "yo"},
            ],
        )
    )
    flagged = {"injection_flags": ["role_tag"], "source": "web"}
    items += [item.model_copy(update={"metadata": flagged}) for item in items[::7]]
    for joint, rationale, layout in itertools.product(
        (False, True), ("before", "after", "none"), ("rubric-first", "item-first")
    ):
        options = JudgeOptions(joint=joint, rationale=rationale, layout=layout)
        judge = make_judge(mode, RUBRIC, options)
        for item in items:
            got = [call.request.messages[0]["content"] for call in judge.calls(item)]
            assert got == expected_prompts(mode, options, item), (mode, options, item.id)


def test_a_template_that_shows_other_item_fields_is_rendered_each_time() -> None:
    seen: list[str] = []

    def renderer(template: str, item: Item, **context: object) -> str:
        seen.append(item.id)
        return f"Judge {item.id}:\n<response>\n{item.response}\n</response>\nDone.\n"

    cache = PromptCache(renderer, reads=lambda template: ())
    first = Item(id="a", input="q", response="r1")
    second = Item(id="b", input="q", response="r2")
    assert cache.render("t", first) == renderer("t", first)
    assert cache.render("t", second) == renderer("t", second)
    assert "b" in seen  # the skeleton held a stand-in for the id, so it was not trusted


def test_an_unfenced_text_is_filled_in_unfenced() -> None:
    def renderer(template: str, item: Item, **context: object) -> str:
        return f"Input: {item.input}\nEnd.\n"

    cache = PromptCache(renderer, reads=lambda template: ())
    cache.render("t", Item(id="a", input="first", response="r"))
    tagged = Item(id="b", input="keeps <response> as is", response="r")
    assert cache.render("t", tagged) == "Input: keeps <response> as is\nEnd.\n"


def test_one_render_per_criterion_and_shape_after_the_first_item() -> None:
    calls: list[str] = []

    def counting(template: str, **context: object) -> str:
        calls.append(template)
        return render(template, **context)

    cache = PromptCache(counting)
    criterion = RUBRIC.criteria[0]
    context = {"rationale": "before", "layout": "rubric-first", "rubric": RUBRIC}
    items = [Item(id=str(k), input=f"question {k}", response=f"answer {k}") for k in range(50)]
    prompts = [cache.render("pointwise.j2", item, criterion=criterion, **context) for item in items]
    assert len(calls) == 2  # the skeleton and the first item's check, nothing after
    assert prompts == [
        render("pointwise.j2", item=item, criterion=criterion, **context) for item in items
    ]


def test_templates_are_read_for_what_they_look_up() -> None:
    for template in ("pointwise.j2", "pointwise_joint.j2", "checklist.j2", "checklist_joint.j2"):
        keys = metadata_keys(template)
        assert keys is not None and set(keys) <= {"injection_flags"}
