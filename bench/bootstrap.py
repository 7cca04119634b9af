"""Bootstrap speed: jurist.stats vs scipy.stats.bootstrap(vectorized=True), side by side.

Same data, same number of resamples, percentile intervals. Prints absolute seconds
(best of a few runs) and the ratio ours / reference (below 1 means we are faster).

    python bench/bootstrap.py [--n 10000] [--resamples 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from jurist.stats import bootstrap as B
from jurist.stats.agreement import spearman


def best_of(repeat: int, fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def scipy_pearson(x, y, axis=-1):
    xc = x - x.mean(axis=axis, keepdims=True)
    yc = y - y.mean(axis=axis, keepdims=True)
    return (xc * yc).sum(axis) / np.sqrt((xc * xc).sum(axis) * (yc * yc).sum(axis))


def scipy_spearman(x, y, axis=-1):
    return scipy_pearson(stats.rankdata(x, axis=axis), stats.rankdata(y, axis=axis), axis)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=args.n)
    y = 0.5 * x + rng.normal(size=args.n)
    likert_x = np.clip(np.round(3 + x), 1, 5)
    likert_y = np.clip(np.round(3 + y), 1, 5)
    b = args.resamples

    def ref(samples, statistic, paired=False):
        return lambda: stats.bootstrap(
            samples,
            statistic,
            n_resamples=b,
            vectorized=True,
            paired=paired,
            method="percentile",
            rng=1,
        )

    cases = {
        "mean": (
            lambda: B.bootstrap_counts(lambda c: B.weighted_mean(c, x), x.size, n_resamples=b),
            ref((x,), np.mean),
        ),
        "pearson": (
            lambda: B.bootstrap_counts(
                lambda c: B.weighted_pearson(c, x, y), x.size, n_resamples=b
            ),
            ref((x, y), scipy_pearson, paired=True),
        ),
        "mean (generic gather)": (
            lambda: B.bootstrap_ci(lambda v: v.mean(axis=-1), x, n_resamples=b),
            ref((x,), np.mean),
        ),
        "spearman, Likert 1-5": (
            lambda: spearman(likert_x, likert_y, n_resamples=b),
            ref((likert_x, likert_y), scipy_spearman, paired=True),
        ),
    }
    print(f"n={args.n} items, B={b} resamples, best of {args.repeat}")
    print(f"{'statistic':<24}{'jurist s':>10}{'scipy s':>10}{'ratio':>8}   intervals")
    for name, (ours, ref) in cases.items():
        t_ours, est = best_of(args.repeat, ours)
        t_ref, res = best_of(args.repeat, ref)
        ci = res.confidence_interval
        print(
            f"{name:<24}{t_ours:>10.3f}{t_ref:>10.3f}{t_ours / t_ref:>8.3f}   "
            f"[{est.low:.4f}, {est.high:.4f}] vs [{ci.low:.4f}, {ci.high:.4f}]"
        )


if __name__ == "__main__":
    main()
