from jurist.core.completion import Completion, Request, ScoreSlot
from jurist.core.judgment import make_judgment
from jurist.store import Store

BASE = Request(
    messages=({"role": "user", "content": "grade this"},), json_schema={"type": "object"}
)


def test_cache_key_covers_what_changes_the_answer():
    key = BASE.cache_key("openai", "m")
    assert key == Request(
        messages=({"role": "user", "content": "grade this"},), json_schema={"type": "object"}
    ).cache_key("openai", "m")
    changed = [
        BASE.cache_key("local", "m"),
        BASE.cache_key("openai", "other"),
        BASE.model_copy(
            update={"messages": ({"role": "user", "content": "grade that"},)}
        ).cache_key("openai", "m"),
        BASE.model_copy(update={"temperature": 0.7}).cache_key("openai", "m"),
        BASE.model_copy(update={"max_tokens": 10}).cache_key("openai", "m"),
        BASE.model_copy(update={"seed": 3}).cache_key("openai", "m"),
        BASE.model_copy(update={"attempt": 1}).cache_key("openai", "m"),
        BASE.model_copy(update={"json_schema": {"type": "string"}}).cache_key("openai", "m"),
    ]
    assert len({key, *changed}) == len(changed) + 1


def test_cache_key_ignores_bookkeeping_tags():
    tagged = BASE.model_copy(update={"tag": "pointwise:x"})
    assert tagged.cache_key("openai", "m") == BASE.cache_key("openai", "m")
    slotted = BASE.model_copy(update={"score_slots": (ScoreSlot(marker="x", choices=("1",)),)})
    # Asking for log-probabilities changes what is returned, so it is part of the key.
    assert slotted.cache_key("openai", "m") != BASE.cache_key("openai", "m")


def test_completion_round_trip_and_results_are_unique_per_index(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        completion = Completion(text="t", slot_logprobs=[{"1": -0.1}], prompt_tokens=3)
        store.put_completion("k", "b", "m", completion)
        cached = store.get_completion("k")
        assert cached.cached and cached.text == "t" and cached.slot_logprobs == [{"1": -0.1}]
        assert store.get_completion("missing") is None
        store.create_run("r1", {"x": 1})
        judgment = make_judgment(
            item_id="a",
            index=0,
            mode="pointwise",
            status="ok",
            judge="j",
            rubric="r",
            rubric_hash="h",
        )
        store.save_result("r1", judgment)
        store.save_result("r1", judgment.model_copy(update={"status": "failed"}))
        assert store.result_count("r1") == 1 and store.done_indices("r1") == {0}
        assert [j.status for j in store.iter_results("r1")] == ["failed"]
        assert store.has_run("r1") and not store.has_run("r2")
    with Store(tmp_path / "s.sqlite") as reopened:  # survives reopening
        assert reopened.get_completion("k").text == "t" and reopened.run_config("r1") == {"x": 1}
