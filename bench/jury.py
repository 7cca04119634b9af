"""Juries of judges against humans: one juror, a jury, an agreement-weighted jury and a
cascade, side by side, with 95% CIs and the model calls each spends.

Data: shared SummEval (one criterion, Spearman with the expert mean; a score within one
point of it counts as right for the cascade) and Auto-J pairs (accuracy against the human
preference; pairs labelled tie are left out). Each set is split in two: the first half
calibrates (the weights, from a `jurist meta` report on each juror's own results there,
and the cascade threshold), the second half is where every method is measured.

Jurors are the embedded judge seen three ways, score first (one constrained token):
  plain      the preset rubric, greedy                          (the cascade's cheap juror)
  rephrased  the same criterion phrased in one plain sentence, greedy
  sampled    the preset rubric, 3 samples at temperature 0.7, majority vote
The cascade asks `plain` and escalates to the rest of the jury (mean of all three) where
plain's top-score probability is under a threshold calibrated on the first half to reach
the jury's own accuracy there (`--target` sets another).

Default size: 80 SummEval summaries and 80 Auto-J pairs (40 calibrate, 40 measure);
on a loaded 2-core machine use e.g.

    python bench/jury.py --n 16 --pairs 16
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from jurist import CallPolicy, JudgeOptions, JudgeSetup, Store
from jurist.core.judgment import Judgment, PairwiseJudgment, PointwiseJudgment
from jurist.core.rubric import Rubric, load_rubric, save_rubric
from jurist.datasets import load_preset
from jurist.jury import (
    Juror,
    JuryPanel,
    JuryRule,
    JurySpec,
    Seat,
    calibrate_thresholds,
    combine_judgments,
    confidence,
    evaluate_cascade,
    route,
    weights_from_report,
)
from jurist.meta import Inputs, run_agreement
from jurist.stats import pairwise_accuracy, spearman
from jurist.stats.results import Estimate

REPO = Path(__file__).resolve().parents[1]
PRESETS = REPO / "src" / "jurist" / "presets"
JURORS = ("plain", "rephrased", "sampled")
REPHRASED = {
    "coherence": "Do the summary's sentences fit together into a clear, well-ordered whole?",
    "consistency": "Is every statement in the summary supported by the article?",
    "fluency": "Is every sentence of the summary grammatical and easy to read?",
    "relevance": "Does the summary keep the article's key points and leave out the rest?",
    "overall": "Which response answers the user's request better: more helpful, correct, "
    "honest and safe?",
}


def summeval_items(n: int, criterion: str) -> list:
    """`n` summaries spread over documents (2 per document), the article cut to 400 chars."""
    taken: dict[str, int] = {}
    items = []
    for item in load_preset("summeval"):
        doc = item.metadata["doc_id"]
        if taken.get(doc, 0) >= 2:
            continue
        taken[doc] = taken.get(doc, 0) + 1
        short = {"input": str(item.input)[:400], "reference": None}
        items.append(
            item.model_copy(update={**short, "labels": {criterion: item.labels[criterion]}})
        )
        if len(items) == n:
            break
    return items


def autoj_items(n: int) -> list:
    """`n` Auto-J pairs with a decisive human preference, every 7th line (scenarios mix),
    each text cut to 300 chars."""
    items = [i for k, i in enumerate(load_preset("autoj")) if k % 7 == 0]
    decisive = [i for i in items if i.labels["preference"] != "tie"][:n]
    return [
        i.model_copy(
            update={
                "input": str(i.input)[:300],
                "response": str(i.response)[:300],
                "response_b": str(i.response_b)[:300],
            }
        )
        for i in decisive
    ]


def one_criterion(rubric: Rubric, criterion: str, question: str | None = None) -> Rubric:
    chosen = next(c for c in rubric.criteria if c.id == criterion)
    if question is not None:
        words = ("very poor", "poor", "fair", "good", "excellent")
        scale = dict(zip(chosen.points, words, strict=False))
        chosen = chosen.model_copy(update={"question": question, "scale": scale})
    return rubric.model_copy(update={"criteria": [chosen]})


def judge_all(rubric: Rubric, rephrased: Path, mode: str, items: list, store: Store) -> dict:
    """Each juror's own judgments of `items`, through the jury panel's seats: one embedded
    model shared by the three, each juror with its own stack and cache entries."""
    spec = JurySpec(
        jurors=[
            Juror(name="plain"),
            Juror(name="rephrased", rubric=str(rephrased)),
            Juror(name="sampled", samples=3),
        ]
    )
    panel = JuryPanel(
        spec,
        rubric,
        JudgeSetup(
            mode=mode,
            options=JudgeOptions(rationale="none", max_tokens=64),
            calls=CallPolicy(concurrency=1),
        ),
        store=store,
    )

    async def judge(seat: Seat) -> list[Judgment]:
        return [await seat.session.judge_item(item, k) for k, item in enumerate(items)]

    judged = {}
    for seat in panel.seats:
        started = time.perf_counter()
        judged[seat.name] = asyncio.run(judge(seat))
        print(
            f"  {seat.name}: {len(items)} items in {time.perf_counter() - started:.0f}s", flush=True
        )
    asyncio.run(panel.aclose())
    return judged


def calls(judgments: Sequence[Judgment]) -> int:
    """Calls a fresh run makes: those sent plus those the cache answered this time."""
    return sum(j.calls + j.cache_hits for j in judgments)


def meta_weights(judgments: list[Judgment], folder: Path, name: str) -> dict[str, float]:
    """The juror's weights from a `jurist meta` report on its calibration results."""
    path = folder / f"{name}.jsonl"
    path.write_text("".join(j.model_dump_json() + "\n" for j in judgments), encoding="utf-8")
    pairwise = isinstance(judgments[0], PairwiseJudgment)
    labels = ("preference",) if pairwise else ()
    report = run_agreement(Inputs(results=path, label_fields=labels))
    (folder / f"{name}.meta.json").write_text(json.dumps(report.to_dict()), encoding="utf-8")
    return weights_from_report(report.to_dict(), str(path))


def run_set(
    title: str,
    rubric: Rubric,
    mode: str,
    items: list,
    folder: Path,
    store_path: Path,
    agreement: Callable[[list[Judgment]], list[Estimate]],
    credit: Callable[[Judgment], float],
    target: float | None,
) -> None:
    print(f"{title}: {len(items)} items", flush=True)
    criterion = rubric.criteria[0].id
    rephrased = folder / f"{criterion}-rephrased.yaml"
    save_rubric(one_criterion(rubric, criterion, REPHRASED[criterion]), rephrased)
    with Store(store_path) as store:
        judged = judge_all(rubric, rephrased, mode, items, store)
    half = len(items) // 2
    calib = {j: judged[j][:half] for j in JURORS}
    test = {j: judged[j][half:] for j in JURORS}

    def jury(rule: JuryRule, part: dict[str, list[Judgment]]) -> list[Judgment]:
        return [
            combine_judgments({j: part[j][k] for j in JURORS}, rubric, rule)
            for k in range(len(part[JURORS[0]]))
        ]

    weights = {j: meta_weights(calib[j], folder, f"{title}-{j}") for j in JURORS}
    rows: list[tuple[str, list[Estimate], float, str]] = []
    for juror in JURORS:
        rows.append((f"juror {juror}", agreement(test[juror]), calls(test[juror]), ""))
    for method in ("mean", "median", "majority"):
        rule = JuryRule(method)  # type: ignore[arg-type]
        rows.append(
            (f"jury {method}", agreement(jury(rule, test)), sum(calls(test[j]) for j in JURORS), "")
        )
    weighted = JuryRule("weighted", weights=weights)
    note = ", ".join(f"{j} {next(iter(weights[j].values())):.2f}" for j in JURORS)
    rows.append(
        (
            "jury weighted (meta)",
            agreement(jury(weighted, test)),
            sum(calls(test[j]) for j in JURORS),
            note,
        )
    )

    # cascade: plain alone where sure, else the whole jury's mean
    mean = JuryRule("mean")
    cheap_conf = {
        p: np.array([confidence(j) or np.nan for j in parts["plain"]])
        for p, parts in (("calib", calib), ("test", test))
    }
    jury_calib, jury_test = jury(mean, calib), jury(mean, test)
    cheap_credit = np.array([credit(j) for j in calib["plain"]])
    jury_credit = np.array([credit(j) for j in jury_calib])
    # by default the jury's own accuracy on the calibration half (at least 1%: a jury that is
    # never right there sets no bar, and the cheap juror answers everything)
    goal = target if target is not None else max(0.01, float(np.nanmean(jury_credit)))
    (threshold,) = calibrate_thresholds(cheap_conf["calib"], cheap_credit, goal)
    level = route([cheap_conf["test"]], [threshold])
    decided = [test["plain"][k] if level[k] == 0 else jury_test[k] for k in range(len(level))]
    cheap_calls = np.array([j.calls + j.cache_hits for j in test["plain"]], dtype=float)
    rest_calls = np.array(
        [
            sum(test[j][k].calls + test[j][k].cache_hits for j in JURORS[1:])
            for k in range(len(level))
        ],
        dtype=float,
    )
    spent = float(cheap_calls.sum() + rest_calls[level == 1].sum())
    outcome = evaluate_cascade(
        [cheap_conf["test"]],
        [[credit(j) for j in test["plain"]], [credit(j) for j in jury_test]],
        [threshold],
        costs=[float(cheap_calls.mean()), float((cheap_calls + rest_calls).mean())],
        nested=True,  # the jury reuses the cheap juror's answer
    )
    rows.append((
        "cascade plain -> jury",
        agreement(decided),
        spent,
        f"threshold {threshold:.3f} for target {goal:.3f}; escalated {int((level == 1).sum())}/{len(level)}",
    ))  # fmt: skip

    name = "Spearman parsed / expected" if mode == "pointwise" else "accuracy"
    print(f"  measured on {len(items) - half} items (calibrated on {half})")
    print(f"  {'method':<24}{name + ' [95% CI]':>26}{'calls':>8}  note")
    for label, estimates, spent_calls, note in rows:
        cells = [f"{e.value:+.3f} [{e.low:+.3f}, {e.high:+.3f}]" for e in estimates]
        print(f"  {label:<24}{' / '.join(cells):>26}{spent_calls:>8.0f}  {note}")
    print(
        f"  cascade vs jury: accuracy {outcome.accuracy} vs {outcome.accuracy_final}; "
        f"accuracy lost {outcome.accuracy_lost}; cost saved {outcome.cost_saved}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=80, help="SummEval summaries (0 skips)")
    parser.add_argument("--pairs", type=int, default=80, help="Auto-J pairs (0 skips)")
    parser.add_argument("--criterion", default="coherence")
    parser.add_argument("--target", type=float, default=None, help="cascade target accuracy")
    parser.add_argument("--store", default=None, help="keep the calls here (a rerun pays none)")
    args = parser.parse_args()

    def within_one(j: Judgment) -> float:
        assert isinstance(j, PointwiseJudgment)
        score = j.criteria[args.criterion].score
        return np.nan if score is None else float(abs(score - j.labels[args.criterion]) <= 1)

    def rho(judgments: list[Judgment]) -> list[Estimate]:
        """Spearman with the expert mean on the parsed and on the expected score."""
        scores = [j.criteria[args.criterion] for j in judgments if isinstance(j, PointwiseJudgment)]
        human = np.array([j.labels[args.criterion] for j in judgments], dtype=float)
        parsed = np.array([s.score if s.score is not None else np.nan for s in scores])
        expected = np.array([s.expected if s.expected is not None else np.nan for s in scores])
        return [spearman(parsed, human), spearman(expected, human)]

    def right(j: Judgment) -> float:
        assert isinstance(j, PairwiseJudgment)
        verdict = j.pair.verdict if j.pair else None
        return np.nan if verdict is None else float(verdict == j.labels["preference"])

    def accuracy(judgments: list[Judgment]) -> list[Estimate]:
        verdicts = [
            j.pair.verdict if isinstance(j, PairwiseJudgment) and j.pair else None
            for j in judgments
        ]
        return [pairwise_accuracy(verdicts, [j.labels["preference"] for j in judgments])]

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = Path(args.store) if args.store else folder / "store.sqlite"
        if args.n:
            rubric = one_criterion(load_rubric(PRESETS / "summeval.yaml"), args.criterion)
            items = summeval_items(args.n, args.criterion)
            run_set(
                f"SummEval {args.criterion}",
                rubric,
                "pointwise",
                items,
                folder,
                store,
                rho,
                within_one,
                args.target,
            )
        if args.pairs:
            rubric = load_rubric(PRESETS / "pairwise_general.yaml")
            run_set(
                "Auto-J",
                rubric,
                "pairwise",
                autoj_items(args.pairs),
                folder,
                store,
                accuracy,
                right,
                args.target,
            )


if __name__ == "__main__":
    main()
