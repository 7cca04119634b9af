"""Plots render real data to PNG and SVG files and return their paths."""

from __future__ import annotations

import numpy as np
import pytest

import jurist.stats as S
from jurist.meta import plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_png(path, expected):
    assert path == expected
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert path.stat().st_size > 5_000


def test_scatter_and_histograms_on_a_real_judge(llm_rubric, tmp_path):
    out = plots.scatter_judge_vs_human(
        llm_rubric.judge_expected, llm_rubric.human, tmp_path / "s.png"
    )
    _assert_png(out, tmp_path / "s.png")
    scores = {"judge": llm_rubric.judge_expected, "human": llm_rubric.human}
    out = plots.score_histograms(scores, tmp_path / "h.png", scale=[1, 2, 3, 4])
    _assert_png(out, tmp_path / "h.png")
    out = plots.score_histograms(scores, tmp_path / "h.svg")
    assert out.read_text().lstrip().startswith("<?xml") and "<svg" in out.read_text()


def test_confusion_heatmap_from_autoj(autoj, noisy_verdicts, tmp_path):
    cm = S.pairwise_confusion(noisy_verdicts(autoj.labels, 0.6, seed=0), autoj.labels)
    _assert_png(plots.confusion_heatmap(cm, tmp_path / "c.png"), tmp_path / "c.png")
    raw = plots.confusion_heatmap(cm.as_array(), tmp_path / "sub" / "raw.png")
    _assert_png(raw, tmp_path / "sub" / "raw.png")


def test_forest_plot_of_summeval_differences(summeval, tmp_path):
    diffs = [
        S.compare_models(summeval.coherence, summeval.system, summeval.doc, m, "M11")
        for m in ("M0", "M1", "M2")
    ]
    rows = [*diffs, ("manual row", 0.1, -0.2, 0.4)]
    _assert_png(plots.forest_plot(rows, tmp_path / "f.png"), tmp_path / "f.png")


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        plots.score_histograms({"x": np.arange(5.0)}, tmp_path / "x.jpg")
