"""Pairwise verdicts against human preferences: accuracy, kappa on {A, B, tie}, position
consistency and the confusion matrix. Rates carry Wilson intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Unpack

import numpy as np
from numpy.typing import ArrayLike, NDArray

from jurist.core.judgment import VERDICTS
from jurist.stats.arrays import IntArray
from jurist.stats.kappa import kappa_from_indices
from jurist.stats.proportion import proportion
from jurist.stats.resampling import Resampling, resampling
from jurist.stats.results import Estimate, Result


def verdict_codes(verdicts: ArrayLike) -> IntArray:
    """'A' -> 0, 'B' -> 1, 'tie' -> 2, None / NaN / '' -> -1 (failed or missing)."""
    out = []
    for v in np.asarray(verdicts, dtype=object).ravel():
        if v is None or v == "" or (isinstance(v, float) and math.isnan(v)):
            out.append(-1)
        elif v in VERDICTS:
            out.append(VERDICTS.index(v))
        else:
            raise ValueError(f"unknown verdict {v!r}; expected 'A', 'B', 'tie' or None")
    return np.asarray(out, dtype=np.intp)


def paired_verdicts(first: ArrayLike, second: ArrayLike) -> tuple[IntArray, IntArray, int]:
    a, b = verdict_codes(first), verdict_codes(second)
    if a.shape != b.shape:
        raise ValueError(f"verdict arrays differ in length: {a.size} vs {b.size}")
    keep = (a >= 0) & (b >= 0)
    return a[keep], b[keep], int((~keep).sum())


def pairwise_accuracy(
    verdicts: ArrayLike,
    labels: ArrayLike,
    *,
    ties: Literal["exclude", "half"] = "exclude",
    **options: Unpack[Resampling],
) -> Estimate:
    """Share of pairs where the judge's verdict matches the human label.

    ties="exclude": pairs labelled 'tie' are left out (and counted in n_excluded); a judge
    'tie' on a decisive label scores 0, since it failed to pick the better response.
    ties="half": every pair counts; a match scores 1, a tie against a decisive verdict
    (judge tie on an A/B label, or an A/B verdict on a tie label) scores 0.5, and A vs B
    scores 0.
    Failed verdicts and missing labels are always left out and counted. The interval is
    Wilson's, with half credits counted as half a success.
    """
    kw = resampling(options)
    v, lab, n_excluded = paired_verdicts(verdicts, labels)
    score = np.zeros((3, 3))
    np.fill_diagonal(score, 1.0)
    if ties == "exclude":
        decisive = lab != 2
        n_excluded += int((~decisive).sum())
        v, lab = v[decisive], lab[decisive]
    elif ties == "half":
        score[2, :2] = score[:2, 2] = 0.5
    else:
        raise ValueError(f"ties must be 'exclude' or 'half', not {ties!r}")
    credits = float(score[v, lab].sum())
    return proportion(credits, int(v.size), n_excluded=n_excluded, confidence=kw["confidence"])


def pairwise_kappa(
    verdicts: ArrayLike, labels: ArrayLike, **options: Unpack[Resampling]
) -> Estimate:
    """Unweighted Cohen's kappa between verdicts and labels on {A, B, tie}."""
    v, lab, n_excluded = paired_verdicts(verdicts, labels)
    return kappa_from_indices(v, lab, 3, None, n_excluded, **options)


def position_consistency(
    verdict_ab: ArrayLike, verdict_ba: ArrayLike, **options: Unpack[Resampling]
) -> Estimate:
    """Share of pairs whose verdict survives swapping the two responses (Wilson interval).

    Both arrays use the original labels: `verdict_ba` is the swapped presentation mapped
    back (as in PairVerdict), so a consistent judge gives equal verdicts.
    """
    kw = resampling(options)
    ab, ba, n_excluded = paired_verdicts(verdict_ab, verdict_ba)
    same = int((ab == ba).sum())
    return proportion(same, int(ab.size), n_excluded=n_excluded, confidence=kw["confidence"])


@dataclass(frozen=True)
class ConfusionMatrix(Result):
    """Counts of human labels (rows) against judge verdicts (columns)."""

    labels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]
    n: int
    n_excluded: int

    def as_array(self) -> NDArray[np.int64]:
        return np.asarray(self.counts, dtype=np.int64)


def pairwise_confusion(verdicts: ArrayLike, labels: ArrayLike) -> ConfusionMatrix:
    """Human label x judge verdict counts on {A, B, tie}; failed verdicts are counted apart."""
    v, lab, n_excluded = paired_verdicts(verdicts, labels)
    counts = np.zeros((3, 3), dtype=np.int64)
    np.add.at(counts, (lab, v), 1)
    return ConfusionMatrix(
        labels=VERDICTS,
        counts=tuple(tuple(int(c) for c in row) for row in counts),
        n=int(v.size),
        n_excluded=n_excluded,
    )
