"""A tiny random Gemma 3 built from a config (no download) and the embedded tokenizer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jurist.core.errors import BackendError

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="session")
def embedded_tokenizer_folder() -> Path:
    """The embedded GGUF's converted folder, converting it on first use (about a minute on
    2 cores, then cached), so a fresh machine runs the white-box tests instead of skipping."""
    from jurist.whitebox.loading import dequantized_folder, load_causal_lm, resolve_model_path

    try:
        folder = dequantized_folder(resolve_model_path("embedded"))
    except BackendError as error:  # the 'local' extra (the packaged model) is missing
        pytest.skip(f"embedded model not available: {error}")
    if not (folder / "tokenizer.json").exists():
        load_causal_lm("embedded")
    return folder


@pytest.fixture(scope="session")
def tiny_gemma(embedded_tokenizer_folder: Path) -> tuple[Any, Any]:
    tokenizer = transformers.AutoTokenizer.from_pretrained(embedded_tokenizer_folder)
    config = transformers.Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=3,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        sliding_window=8,
        layer_types=["sliding_attention", "sliding_attention", "full_attention"],
        max_position_embeddings=512,
    )
    torch.manual_seed(0)
    model = transformers.Gemma3ForCausalLM(config).eval()
    with torch.no_grad():  # random norms make the final norm matter
        for module in model.modules():
            if module.__class__.__name__.endswith("RMSNorm"):
                module.weight.normal_(0.0, 0.5)
    return model, tokenizer
