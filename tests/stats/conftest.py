"""Real human-labelled data for the statistics tests: the full sets in <repo>/../shared/data
(or $JURIST_SHARED_DATA), else their slices in tests/fixtures/data (see the `data_root`
fixture).

Judge-like values are derived deterministically from the data itself (another annotator,
another criterion, a seeded noisy copy, a length heuristic), so every figure the tests
compare is computed, never typed in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def _need(root: Path, relative: str) -> Path:
    path = root / relative
    if not path.exists():
        pytest.skip(
            f"data set {relative} not found under {root} "
            "(set JURIST_SHARED_DATA to the folder holding summeval/, llm-rubric/, autoj/)"
        )
    return path


@dataclass(frozen=True)
class SummEval:
    doc: np.ndarray
    system: np.ndarray
    coherence: np.ndarray
    consistency: np.ndarray
    fluency: np.ndarray
    relevance: np.ndarray
    length: np.ndarray


@dataclass(frozen=True)
class RubricData:
    """LLM-Rubric real conversations: one human per dialogue and GPT-3.5's answer
    probabilities for the same question (a real judge)."""

    human: np.ndarray  # Q0, 1..4
    judge_expected: np.ndarray  # probability-weighted score, continuous
    judge_sampled: np.ndarray  # the judge's sampled answer, 1..4
    annotator: np.ndarray


@dataclass(frozen=True)
class AutoJ:
    labels: np.ndarray  # 'A' / 'B' / 'tie'
    scenario: np.ndarray
    length_a: np.ndarray
    length_b: np.ndarray


@pytest.fixture(scope="session")
def summeval(data_root: Path) -> SummEval:
    rows = json.loads(_need(data_root, "summeval/summeval_bartscore.json").read_text())
    scores = {k: np.array([r["scores"][k] for r in rows]) for k in rows[0]["scores"]}
    return SummEval(
        doc=np.array([r["doc_id"] for r in rows]),
        system=np.array([r["system_id"] for r in rows]),
        length=np.array([len(r["summary"]) for r in rows], dtype=float),
        **scores,
    )


@pytest.fixture(scope="session")
def llm_rubric(data_root: Path) -> RubricData:
    human = pd.read_csv(
        _need(data_root, "llm-rubric/human_judges_real_convs_FIXED_ANON.tsv"), sep="\t"
    )
    judge = pd.read_csv(
        _need(data_root, "llm-rubric/gpt-3.5-turbo-16k_real_evaluations_FIXED.tsv"), sep="\t"
    )
    judge = judge[judge.criterion == "Q0"].set_index("text_id").reindex(human.text_id)
    probs = judge[[f"answer{k}_prob" for k in range(1, 5)]].to_numpy()
    expected = (probs * np.arange(1, 5)).sum(axis=1) / probs.sum(axis=1)
    return RubricData(
        human=human.Q0.to_numpy(dtype=float),
        judge_expected=expected,
        judge_sampled=judge.sample_llm.to_numpy(dtype=float),
        annotator=human.annotator_id.to_numpy(),
    )


@pytest.fixture(scope="session")
def annotators(data_root: Path) -> np.ndarray:
    """LLM-Rubric synthetic dialogues: (annotators, dialogues) Q0 matrix, NaN where an
    annotator did not rate a dialogue (about 3 ratings per dialogue)."""
    table = pd.read_csv(
        _need(data_root, "llm-rubric/human_judges_synth_all_FIXED_ANON.tsv"), sep="\t"
    )
    return table.pivot_table(index="annotator_id", columns="text_id", values="Q0").to_numpy()


@pytest.fixture(scope="session")
def autoj(data_root: Path) -> AutoJ:
    lines = _need(data_root, "autoj/autoj_pairwise.json").read_text().splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return AutoJ(
        labels=np.array(["A", "B", "tie"])[[r["label"] for r in rows]],
        scenario=np.array([r["scenario"] for r in rows]),
        length_a=np.array([len(r["response 1"]) for r in rows], dtype=float),
        length_b=np.array([len(r["response 2"]) for r in rows], dtype=float),
    )


def _noisy_verdicts(labels: np.ndarray, keep: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    random = rng.choice(np.array(["A", "B", "tie"]), size=labels.size)
    return np.where(rng.random(labels.size) < keep, labels, random).astype(object)


@pytest.fixture(scope="session")
def noisy_verdicts():
    """A judge that copies the label with probability `keep`, else answers at random."""
    return _noisy_verdicts
