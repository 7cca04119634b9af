"""The regression gate that may look after every batch: betting confidence sequences.

A fixed-n test looked at after every batch, and stopped when it first says "pass", errs
far more often than its level: each look is another chance. Here each question of the
gate (see `jurist.testing.decide`) is a bet against its null hypothesis. Paired
differences are bounded by the rubric's scale (a 1-5 criterion's lie in [-4, 4]), so after
mapping them to x in [0, 1] the wealth

    K_t = prod_{i <= t} (1 + lambda_i * (x_i - mu0))      (or mu0 - x_i for the other side)

is a nonnegative supermartingale under the null (mean <= mu0, resp. >= mu0) as long as
each bet lambda_i is chosen from earlier items only. By Ville's inequality
P(sup_t K_t >= 1/alpha) <= alpha, so p_t = 1 / max_{s<=t} K_s is a p-value that stays
valid at any stopping time, however the stopping was decided: the e-value / betting
method of Waudby-Smith and Ramdas (2023), "Estimating means of bounded random variables
by betting". Bets follow their aGRAPA rule (an approximate Kelly bet from the running mean
and variance, truncated to half the largest safe bet). The anytime p-values are
Holm-adjusted across rows exactly as the fixed-n gate's, which stays valid because each
one is valid at the stopping time. The reported interval is the confidence sequence at
the stopping time (the difference values no bet has rejected).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from jurist.stats.arrays import FloatArray
from jurist.stats.results import Figure
from jurist.testing.decide import (
    DEFAULT_MAX_DROP,
    DEFAULT_MAX_DROP_SHARE,
    RowTest,
    decide_rows,
    one_sided_alpha,
    overall_decision,
    row_limit,
)
from jurist.testing.gate_report import GateReport, GateRow, Limits

# A batch of newly paired items: row name -> one difference (candidate - baseline) per
# item, None where one side has no score. Every row lists the same items.
PairedBatch = Mapping[str, Sequence[float | None]]
NextBatch = Callable[[int], PairedBatch | None]

_TRUNCATION = 0.5  # fraction of the largest bet that keeps the wealth positive
# Null means tried when reporting the confidence sequence: a coarse grid, then each edge.
_COARSE = 64
_FINE = 32


def _bets(x: FloatArray, mu0: FloatArray, sign: FloatArray) -> FloatArray:
    """aGRAPA bets (n, G) on x's mean exceeding (sign +1) or falling short of (sign -1)
    each null mean mu0, each from the items before it (a prior of one item at 1/2)."""
    t = np.arange(1, x.size + 1, dtype=np.float64)[:, None]
    before = np.concatenate([[0.0], np.cumsum(x)[:-1]])[:, None]
    squares = np.concatenate([[0.0], np.cumsum(x * x)[:-1]])[:, None]
    mean = (0.5 + before) / t
    variance = np.maximum((0.25 + squares - (t - 1) * mean * mean) / t, 1e-6)
    gap = sign * (mean - mu0)
    kelly = gap / (variance + gap * gap)
    with np.errstate(divide="ignore"):  # a null mean of 0 (1) puts no ceiling on the bet
        ceiling = _TRUNCATION / np.where(sign > 0, mu0, 1.0 - mu0)
    return np.clip(kelly, 0.0, ceiling)


def max_log_wealth(x: FloatArray, mu0: FloatArray, sign: FloatArray) -> FloatArray:
    """The largest log-wealth reached so far by each bet (G,): against the null "mean <=
    mu0" where sign is +1, "mean >= mu0" where it is -1 (0 when nothing was bet yet)."""
    mu = np.asarray(mu0, dtype=np.float64)[None, :]
    direction = np.asarray(sign, dtype=np.float64)[None, :]
    if x.size == 0:
        return np.zeros(mu.shape[1])
    step = direction * (x[:, None] - mu)
    path = np.cumsum(np.log1p(_bets(x, mu, direction) * step), axis=0)
    return np.maximum(path.max(axis=0), 0.0)


def _unit(differences: FloatArray, spread: float) -> FloatArray:
    """Differences in [-spread, spread] mapped onto [0, 1]."""
    if differences.size and np.abs(differences).max() > spread * (1 + 1e-9):
        raise ValueError(
            f"a paired difference of {np.abs(differences).max():g} exceeds the row's "
            f"possible spread {spread:g}: give the scale's width (highest - lowest score)"
        )
    return np.clip((differences + spread) / (2 * spread), 0.0, 1.0)


def row_test(differences: FloatArray, spread: float, max_drop: float) -> RowTest:
    """Anytime-valid one-sided p-values of one row's three questions."""
    if differences.size == 0:
        return RowTest(None, None, None)
    x = _unit(differences, spread)
    limit = (spread - max_drop) / (2 * spread)
    wealth = max_log_wealth(x, np.asarray([limit, limit, 0.5]), np.asarray([-1.0, 1.0, 1.0]))
    p_regressed, p_pass, p_improved = np.exp(-wealth)
    return RowTest(float(p_regressed), float(p_pass), float(p_improved))


def _kept(x: FloatArray, grid: FloatArray, barrier: float) -> FloatArray:
    """Which null means on `grid` neither side's bet has rejected."""
    both = np.concatenate([grid, grid])
    signs = np.concatenate([np.ones(grid.size), -np.ones(grid.size)])
    below = max_log_wealth(x, both, signs) < barrier
    return below[: grid.size] & below[grid.size :]


def confidence_sequence(
    differences: FloatArray, spread: float, confidence: float
) -> tuple[float, float] | None:
    """The differences no bet has rejected at level (1 - confidence) / 2 each side.

    Found on a coarse grid of null means, then each edge refined between its last kept
    and first rejected point (to 1/(_COARSE * _FINE) of the scale's range)."""
    if differences.size == 0:
        return None
    x = _unit(differences, spread)
    barrier = math.log(1.0 / one_sided_alpha(confidence))
    coarse = np.linspace(0.0, 1.0, _COARSE + 1)
    inside = np.flatnonzero(_kept(x, coarse, barrier))
    if inside.size == 0:  # narrower than the coarse grid: look between its points
        centre = int(np.clip(np.searchsorted(coarse, x.mean()), 1, _COARSE))
        fine = np.linspace(coarse[centre - 1], coarse[centre], _FINE + 1)
        kept = fine[_kept(x, fine, barrier)]
        edges = [kept[0], kept[-1]] if kept.size else [x.mean(), x.mean()]
    else:
        edges = [_edge(x, coarse, inside[0], -1, barrier), _edge(x, coarse, inside[-1], 1, barrier)]
    low, high = (float(e) * 2 * spread - spread for e in edges)
    return low, high


def _edge(x: FloatArray, coarse: FloatArray, last: int, step: int, barrier: float) -> float:
    """The kept region's edge between coarse point `last` (kept) and its neighbour."""
    outside = last + step
    if outside < 0 or outside >= coarse.size:
        return float(coarse[last])
    fine = np.linspace(coarse[outside], coarse[last], _FINE + 1)
    kept = fine[_kept(x, fine, barrier)]
    return float(kept[0]) if kept.size else float(coarse[last])


def _rows_now(
    seen: Mapping[str, list[float]],
    missing: Mapping[str, int],
    spreads: Mapping[str, float],
    limits: Mapping[str, float],
    confidence: float,
    final: bool,
) -> list[GateRow]:
    names = list(seen)
    arrays = {name: np.asarray(seen[name], dtype=np.float64) for name in names}
    tests = [row_test(arrays[n], spreads[n], limits[n]) for n in names]
    decided = decide_rows(tests, confidence)
    rows = []
    for name, result in zip(names, decided, strict=True):
        d = arrays[name]
        interval = confidence_sequence(d, spreads[name], confidence) if final else None
        value = float(d.mean()) if d.size else None
        figure = Figure.spanning(value, interval, int(d.size), confidence)
        rows.append(
            GateRow(
                name=name,
                difference=figure.model_copy(update={"n_excluded": missing[name]}),
                max_drop=limits[name],
                p_regressed=result.p_regressed,
                p_pass=result.p_pass,
                p_improved=result.p_improved,
                decision=result.decision,
            )
        )
    return rows


def _limits(
    spreads: Mapping[str, float], max_drop: float | Mapping[str, float], max_drop_share: float
) -> dict[str, float]:
    """Each row's tolerated drop: the mapping's entry, else the default for its unit."""
    per_row = max_drop if isinstance(max_drop, Mapping) else {}
    points = DEFAULT_MAX_DROP if isinstance(max_drop, Mapping) else max_drop
    return {name: per_row.get(name, row_limit(name, points, max_drop_share)) for name in spreads}


def _settled(rows: Sequence[GateRow]) -> bool:
    decisions = [r.decision for r in rows]
    return "regressed" in decisions or all(d in ("pass", "improved") for d in decisions)


def gate_sequential(
    next_batch: NextBatch,
    *,
    spreads: Mapping[str, float],
    budget: int,
    batch_size: int = 20,
    max_drop: float | Mapping[str, float] = DEFAULT_MAX_DROP,
    max_drop_share: float = DEFAULT_MAX_DROP_SHARE,
    confidence: float = 0.95,
    baseline: str = "baseline",
    candidate: str = "candidate",
) -> GateReport:
    """Ask for paired items in batches until the gate is settled or `budget` is spent.

    `next_batch(k)` returns up to k newly paired items as {row: [difference, ...]} (None
    or an empty batch: nothing left). `spreads` gives each row's largest possible
    |difference| (the scale's highest minus lowest score; 1 for win rates and other
    shares) and names the rows. `max_drop` (scale points; a mapping sets it per row)
    and `max_drop_share` (share rows: overall, win_rate, checklist_score) mean what they
    mean for `gate`. Settled: a row regressed, or every row passed. Valid under this
    optional stopping (betting e-values, see the module docstring).
    """
    if budget < 1 or batch_size < 1:
        raise ValueError("budget and batch_size must be at least 1")
    limits = _limits(spreads, max_drop, max_drop_share)
    seen: dict[str, list[float]] = {name: [] for name in spreads}
    missing = dict.fromkeys(spreads, 0)
    used = batches = 0
    rows = _rows_now(seen, missing, spreads, limits, confidence, final=False)
    while used < budget and not (used and _settled(rows)):
        batch = next_batch(min(batch_size, budget - used))
        size = _absorb(batch, seen, missing)
        if size == 0:
            break
        used += size
        batches += 1
        rows = _rows_now(seen, missing, spreads, limits, confidence, final=False)
    rows = _rows_now(seen, missing, spreads, limits, confidence, final=True)
    return GateReport(
        baseline=baseline,
        candidate=candidate,
        method="betting",
        confidence=confidence,
        n_paired=used,
        rows=rows,
        decision=overall_decision([r.decision for r in rows]),
        limits=Limits(budget=budget, batch_size=batch_size, batches=batches),
    )


def _absorb(
    batch: PairedBatch | None, seen: dict[str, list[float]], missing: dict[str, int]
) -> int:
    """Append a batch's differences per row; returns how many items it held."""
    if not batch:
        return 0
    sizes = {len(values) for values in batch.values()}
    if len(sizes) != 1:
        raise ValueError("every row of a batch must list the same items")
    unknown = set(batch) - set(seen)
    if unknown:
        raise ValueError(f"rows not named in spreads: {', '.join(sorted(unknown))}")
    size = sizes.pop()
    for name in seen:
        values = batch.get(name, [None] * size)
        kept = [float(v) for v in values if v is not None and not math.isnan(v)]
        seen[name].extend(kept)
        missing[name] += len(values) - len(kept)
    return size
