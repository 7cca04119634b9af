"""Per-layer projection against a direct computation on a tiny random Gemma 3, and prefix
reuse against one full forward pass."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import torch

from jurist.whitebox.cache import HiddenCache
from jurist.whitebox.forward import PrefixForward
from jurist.whitebox.layers import choice_token_ids, expected_scores, layer_logits, log_softmax

CHOICES = ("1", "2", "3", "4", "5")
TEXT = "Article: the cat sat on the mat for a long time.\nSummary: a cat sat.\nScore (1-5): "


def _hidden(model: Any, tokenizer: Any, text: str) -> tuple[np.ndarray, torch.Tensor]:
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        out = model(input_ids=ids, output_hidden_states=True)
    return torch.stack([h[0, -1] for h in out.hidden_states]).numpy(), ids


def test_norm_lens_equals_the_model_cut_after_each_layer(tiny_gemma: tuple[Any, Any]) -> None:
    """Layer k through the final norm is what the model would output with only k layers."""
    model, tokenizer = tiny_gemma
    ids = choice_token_ids(tokenizer, CHOICES)
    assert ids is not None
    hidden, input_ids = _hidden(model, tokenizer, TEXT)
    lens = layer_logits(model, hidden, ids, "norm")
    n_layers = model.config.num_hidden_layers
    assert lens.shape == (n_layers + 1, len(CHOICES))
    for k in range(1, n_layers + 1):
        cut = copy.deepcopy(model)
        cut.model.layers = cut.model.layers[:k]
        cut.config.num_hidden_layers = k
        cut.config.layer_types = cut.config.layer_types[:k]
        with torch.no_grad():
            direct = cut(input_ids=input_ids).logits[0, -1, ids].double().numpy()
        np.testing.assert_allclose(lens[k], direct, rtol=1e-4, atol=1e-4)


def test_raw_lens_skips_the_norm_except_on_the_already_normed_last_layer(
    tiny_gemma: tuple[Any, Any],
) -> None:
    model, tokenizer = tiny_gemma
    ids = choice_token_ids(tokenizer, CHOICES)
    assert ids is not None
    hidden, _ = _hidden(model, tokenizer, TEXT)
    raw = layer_logits(model, hidden, ids, "raw")
    normed = layer_logits(model, hidden, ids, "norm")
    weight = model.lm_head.weight.detach().double().numpy()[ids]
    np.testing.assert_allclose(raw, hidden.astype(np.float64) @ weight.T, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(raw[-1], normed[-1], rtol=1e-6)
    assert not np.allclose(raw[1], normed[1], atol=1e-3)  # the norm changes inner layers


def test_expected_scores_are_probability_weighted_points() -> None:
    logits = np.array([[0.0, 0.0, 0.0, 0.0, 0.0], [10.0, 0.0, 0.0, 0.0, 40.0]])
    np.testing.assert_allclose(expected_scores(logits, [1, 2, 3, 4, 5]), [3.0, 5.0])
    np.testing.assert_allclose(np.exp(log_softmax(logits)).sum(axis=1), 1.0)


def test_prefix_reuse_matches_one_full_forward_and_hits_the_disk_cache(
    tiny_gemma: tuple[Any, Any], tmp_path: Any
) -> None:
    """Past the sliding window (8 tokens) too: the segments together are ~30 tokens."""
    model, tokenizer = tiny_gemma
    cache = HiddenCache(tmp_path)
    runner = PrefixForward(model, tokenizer, "tiny", cache)
    article = runner.root("Article: the cat sat on the mat for a long time.\n")
    summary = runner.child(article, "Summary: a cat sat.\n")
    got = runner.states(summary, "Score (1-5): ")
    full = article.text + "Summary: a cat sat.\n" + "Score (1-5): "
    ids = tokenizer(full, return_tensors="pt")["input_ids"]
    pieces = [
        tokenizer.encode(article.text),
        tokenizer.encode("Summary: a cat sat.\n", add_special_tokens=False),
    ]
    pieces.append(tokenizer.encode("Score (1-5): ", add_special_tokens=False))
    assert sum(len(p) for p in pieces) == ids.shape[1]  # the segments tokenize alike
    with torch.no_grad():
        out = model(input_ids=ids, output_hidden_states=True)
    want = torch.stack([h[0, -1] for h in out.hidden_states]).numpy()
    np.testing.assert_allclose(got["last"], want, rtol=1e-4, atol=1e-4)
    used = runner.forward_tokens
    again = PrefixForward(model, tokenizer, "tiny", cache).states(summary, "Score (1-5): ")
    np.testing.assert_array_equal(again["last"], got["last"])
    assert used > 0
    fresh = PrefixForward(model, tokenizer, "tiny", cache)
    fresh.states(fresh.child(fresh.root(article.text), "Summary: a cat sat.\n"), "Score (1-5): ")
    assert fresh.forward_tokens == 0


@pytest.mark.parametrize("lens", ["sideways"])
def test_unknown_lens_is_refused(tiny_gemma: tuple[Any, Any], lens: str) -> None:
    model, _ = tiny_gemma
    with pytest.raises(ValueError, match="lens"):
        layer_logits(model, np.zeros((4, 32)), [1, 2], lens)  # type: ignore[arg-type]
