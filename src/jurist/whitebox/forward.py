"""Hidden states at score positions, computed with prompt-prefix reuse and kept on disk.

Prompts that share a beginning (one article under 16 summaries, one summary under four
criteria) run that beginning once: its key/value cache is copied and extended with each
continuation. Every continuation's states are stored in the HiddenCache under the full text,
so a second analysis of the same prompts runs no forward pass at all, and a prefix is only
computed when one of its continuations is missing from the cache.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jurist.whitebox.cache import HiddenCache, hidden_key

States = dict[str, NDArray[np.float32]]


@dataclass
class Prefix:
    """A prompt beginning: its text, and (once computed) its token ids and KV cache."""

    text: str
    parent: Prefix | None = None
    ids: list[int] = field(default_factory=list)
    kv: Any = None


class PrefixForward:
    """Runs prompt segments through a causal LM, reusing the KV cache of shared prefixes."""

    def __init__(
        self, model: Any, tokenizer: Any, identity: str, cache: HiddenCache | None
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.identity = identity
        self.cache = cache
        self.forward_tokens = 0  # tokens actually run, for cost reports
        # KV caches of segments whose states were just computed, kept until a child
        # prefix of the same text needs them, so that text is not run twice.
        self._spare_kv: dict[str, Any] = {}

    def root(self, text: str) -> Prefix:
        return Prefix(text)

    def child(self, parent: Prefix, text: str) -> Prefix:
        return Prefix(parent.text + text, parent)

    def states(self, prefix: Prefix, text: str) -> States:
        """`last`: every layer's state at the last token of `text`; `mean`: their mean over
        `text`'s tokens. From the disk cache when there."""
        key = hidden_key(self.identity, prefix.text + text)
        if self.cache is not None:
            found = self.cache.get(key)
            if found is not None:
                return found
        self._materialise(prefix)
        hidden, kv = self._run(prefix, text, keep_kv=True)
        self._spare_kv = {prefix.text + text: kv}
        result = {"last": hidden[:, -1], "mean": hidden.mean(axis=1)}
        if self.cache is not None:
            self.cache.put(key, result)
        return result

    def _materialise(self, prefix: Prefix) -> None:
        if prefix.kv is not None or (prefix.parent is None and not prefix.text):
            return
        if prefix.parent is None:
            ids = self.tokenizer.encode(prefix.text, add_special_tokens=True)
            prefix.ids, prefix.kv = ids, self._kv_of(ids)
            return
        spare = self._spare_kv.pop(prefix.text, None)
        if spare is not None:
            prefix.kv = spare
            return
        self._materialise(prefix.parent)
        own = prefix.text[len(prefix.parent.text) :]
        _, prefix.kv = self._run(prefix.parent, own, keep_kv=True)

    def _kv_of(self, ids: list[int]) -> Any:
        import torch

        self.forward_tokens += len(ids)
        with torch.no_grad():
            out = self.model(input_ids=torch.tensor([ids]), use_cache=True, logits_to_keep=1)
        return out.past_key_values

    def _run(self, prefix: Prefix, text: str, keep_kv: bool) -> tuple[NDArray[np.float32], Any]:
        """(layers + 1, tokens, hidden) states of `text` after `prefix`, and the new KV cache."""
        import torch

        ids = self.tokenizer.encode(text, add_special_tokens=prefix.kv is None)
        if not ids:
            raise ValueError("a prompt segment must contain at least one token")
        kv = copy.deepcopy(prefix.kv) if prefix.kv is not None else None
        self.forward_tokens += len(ids)
        # `past_key_values` is renamed `cache` in later transformers; the old name works
        # across the versions the extra allows.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            out = self.model(
                input_ids=torch.tensor([ids]),
                past_key_values=kv,
                use_cache=True,
                output_hidden_states=True,
                logits_to_keep=1,
            )
        hidden = torch.stack([h[0] for h in out.hidden_states]).float().numpy()
        return hidden, (out.past_key_values if keep_kv else None)
