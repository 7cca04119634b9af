"""Krippendorff's alpha for several raters with missing ratings, and the judge's alpha
against each annotator next to the annotators' own (the human ceiling)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Unpack

import numpy as np
from numpy.typing import ArrayLike

from jurist.core.lazy import lazy
from jurist.stats.arrays import FloatArray, IntArray, as_float
from jurist.stats.bootstrap import bootstrap_counts
from jurist.stats.resampling import Resampling, resampling
from jurist.stats.results import Estimate, Result, nan_estimate

sparse = lazy("scipy.sparse")

Level = Literal["ordinal", "interval"]


@dataclass(frozen=True)
class _AlphaSetup:
    n_units: int
    n_excluded: int
    values: FloatArray
    unit_values: sparse.csr_matrix  # (units, V) counts of pairable values
    pair_unit: IntArray
    pair_c: IntArray
    pair_k: IntArray
    pair_w: FloatArray  # 2 / (m_u - 1): both orders of an unordered coder pair


def _alpha_setup(data: ArrayLike) -> _AlphaSetup:
    arr = np.atleast_2d(as_float(data))
    present = ~np.isnan(arr)
    m_u = present.sum(axis=0)
    keep = m_u >= 2
    arr, present, m_u = arr[:, keep], present[:, keep], m_u[keep]
    n_units = arr.shape[1]
    values, inv = np.unique(arr[present], return_inverse=True)
    vidx = np.full(arr.shape, -1, dtype=np.intp)
    vidx[present] = inv.reshape(-1)
    units, cs, ks, ws = [], [], [], []
    for i in range(arr.shape[0]):
        for j in range(i + 1, arr.shape[0]):
            both = np.flatnonzero(present[i] & present[j])
            units.append(both)
            cs.append(vidx[i, both])
            ks.append(vidx[j, both])
            ws.append(2.0 / (m_u[both] - 1.0))
    coder_of, unit_of = np.nonzero(present)
    unit_values = sparse.csr_matrix(
        (np.ones(unit_of.size), (unit_of, vidx[coder_of, unit_of])),
        shape=(n_units, len(values)),
    )
    empty_i = np.zeros(0, dtype=np.intp)
    return _AlphaSetup(
        n_units=n_units,
        n_excluded=int((~keep).sum()),
        values=values,
        unit_values=unit_values,
        pair_unit=np.concatenate(units) if units else empty_i,
        pair_c=np.concatenate(cs) if cs else empty_i,
        pair_k=np.concatenate(ks) if ks else empty_i,
        pair_w=np.concatenate(ws) if ws else np.zeros(0),
    )


def _alpha_kernel(setup: _AlphaSetup, level: Level) -> Callable[[FloatArray], FloatArray]:
    """Alpha for a (b, units) count matrix, via the coincidence-matrix identities.

    Both metrics are squared differences of a per-value position G: the value itself
    (interval), or the value's cumulative pairable count minus half its own count
    (ordinal), which depends on the resample. Observed disagreement then sums over coder
    pairs and expected disagreement is 2 N sum n_c (G_c - mean G)^2, so nothing V x V
    is ever formed.
    """
    if level not in ("ordinal", "interval"):
        raise ValueError(f"level must be 'ordinal' or 'interval', not {level!r}")
    unit_values_t = setup.unit_values.T.tocsr()
    if level == "interval":
        diffs = setup.values[setup.pair_c] - setup.values[setup.pair_k]
        per_unit = np.bincount(
            setup.pair_unit, weights=setup.pair_w * diffs * diffs, minlength=setup.n_units
        )

    def kernel(counts: FloatArray) -> FloatArray:
        n_v = np.asarray(unit_values_t @ counts.T).T  # (b, V)
        total = n_v.sum(axis=1)
        if level == "interval":
            pos = np.broadcast_to(setup.values, n_v.shape)
            observed = counts @ per_unit
        else:
            pos = np.cumsum(n_v, axis=1) - n_v / 2.0
            d = pos[:, setup.pair_c] - pos[:, setup.pair_k]
            observed = (counts[:, setup.pair_unit] * (setup.pair_w * d * d)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (n_v * pos).sum(axis=1) / total
            centred = pos - mean[:, None]
            expected = 2.0 * total * (n_v * centred * centred).sum(axis=1)
            alpha = 1.0 - (total - 1.0) * observed / expected
        return np.where(expected > 0, alpha, np.nan)

    return kernel


def krippendorff_alpha(
    data: ArrayLike, *, level: Level = "ordinal", **options: Unpack[Resampling]
) -> Estimate:
    """Krippendorff's alpha for a (coders, units) matrix with NaN for missing ratings.

    Units rated by fewer than two coders carry no pairable values; they are left out
    and counted in `n_excluded`. The interval resamples units.
    """
    kw = resampling(options)
    setup = _alpha_setup(data)
    if setup.n_units == 0 or setup.values.size < 2:
        return nan_estimate(setup.n_units, setup.n_excluded, kw["confidence"])
    return bootstrap_counts(
        _alpha_kernel(setup, level), setup.n_units, n_excluded=setup.n_excluded, **kw
    )


@dataclass(frozen=True)
class AlphaAgreement(Result):
    """Alpha of the judge against each annotator, next to the annotators' own alpha.

    `among_annotators` is the human ceiling: a judge whose alpha with the annotators
    reaches it agrees with them as well as they agree with each other.
    """

    level: str
    judge_vs_annotator: tuple[Estimate, ...]
    among_annotators: Estimate
    judge_with_annotators: Estimate


def judge_alpha(
    judge: ArrayLike,
    annotators: ArrayLike,
    *,
    level: Level = "ordinal",
    **options: Unpack[Resampling],
) -> AlphaAgreement:
    """Krippendorff's alpha between a judge (n,) and annotators (m, n), NaN = missing.

    `judge_with_annotators` treats the judge as one more coder among the annotators.
    """
    j = as_float(judge)
    ann = np.atleast_2d(as_float(annotators))
    if ann.shape[1] != j.shape[0]:
        raise ValueError(f"annotators must be (m, {j.shape[0]}), got {ann.shape}")
    return AlphaAgreement(
        level=level,
        judge_vs_annotator=tuple(
            krippendorff_alpha(np.stack([j, a]), level=level, **options) for a in ann
        ),
        among_annotators=krippendorff_alpha(ann, level=level, **options),
        judge_with_annotators=krippendorff_alpha(
            np.vstack([j[None, :], ann]), level=level, **options
        ),
    )
