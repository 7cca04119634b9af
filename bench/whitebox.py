"""White-box estimators of the embedded 270M judge against people, on held-out groups.

SummEval (all four criteria; documents split into training and held-out by a seeded
shuffle), LLM-Rubric (whole dialogues, Q0 overall satisfaction by default, label = the mean
of the annotators' 1-4 ratings; dialogues split alike, each dialogue its own group) and
Auto-J pairs (ties dropped; pairs split alike). One forward pass per prompt with prefix
reuse (an article runs once for its 16 summaries, a summary once for its four criteria, a
dialogue once for its questions), hidden states cached on disk, so a second run re-analyses
without a forward pass.

Printed: per-layer Spearman tables (raw logit lens and through the final norm, all items,
no fitting), then on the held-out split: parsed (the constrained greedy answer: the argmax
over the score tokens at the score position), final-layer expected score, LAGER uniform
(all layers, upper half), LAGER fitted, and the learned head, with 95% group-bootstrap
CIs and paired differences from the final-layer expected score. Every probe variant
(pooling, layer, ridge alpha) is scored by grouped CV on the training groups only (SummEval:
within-document Spearman; LLM-Rubric: pooled, as a dialogue is a group of one), all of
them are printed, and only the one chosen there is run on the held-out groups.

Default size: 20 SummEval documents (320 summaries, 1,280 score positions; about 73k
forward tokens), 64 LLM-Rubric dialogues cut to 2,000 characters (23k tokens) and 40 Auto-J
pairs of at most 3,000 characters (51k tokens): about 147k tokens. Measured with one torch
thread (`OMP_NUM_THREADS=1`) while other jobs shared the 2 cores: 120 tokens/s on the
dialogues, so about 20 minutes from an empty cache plus a minute of fitting; a rerun reads
the hidden states from disk (766 s with 13 of the 20 documents already there). Two torch
threads on 2 busy cores were far slower (threads wait for each other): on a shared machine
set `OMP_NUM_THREADS=1`. The run prints its throughput per data set.

    python bench/whitebox.py                                          # default size
    python bench/whitebox.py --docs 3 --summaries 4 --pairs 4 --dialogues 12  # a quick check
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from scipy import stats

from jurist.datasets import (
    get_preset,
    load_autoj,
    load_llmrubric,
    load_summeval,
    resolve_data_dir,
)
from jurist.meta.estimators import compare_estimators, within_group_spearman
from jurist.whitebox import load_causal_lm
from jurist.whitebox.cache import HiddenCache
from jurist.whitebox.forward import PrefixForward
from jurist.whitebox.lager import fit_lager, uniform
from jurist.whitebox.layers import choice_token_ids, layer_logits, log_softmax
from jurist.whitebox.probe import cross_validated, fit_probe, grouped_folds

POINTS = (1, 2, 3, 4, 5)
DIALOGUE_POINTS = (1, 2, 3, 4)
CRITERIA = ("coherence", "consistency", "fluency", "relevance")
console = Console(width=140)


def summeval_prompts() -> tuple[str, str, dict[str, str]]:
    """(article part, summary part, criterion suffixes): most shared first. The suffix names
    the criterion only (a few tokens), so four criteria cost little over one."""
    head = "<start_of_turn>user\nYou grade a summary of a news article.\n\nArticle:\n{article}\n\n"
    body = "Summary:\n{summary}\n\n"
    suffix = {
        c: f"Rate the summary's {c} from 1 to 5 as JSON."
        '<end_of_turn>\n<start_of_turn>model\n{"score": '
        for c in CRITERIA
    }
    return head, body, suffix


def run_summeval(runner: PrefixForward, args: argparse.Namespace) -> dict[str, Any]:
    head, body, suffix = summeval_prompts()
    items = list(load_summeval(resolve_data_dir(args.data)))
    by_doc: dict[str, list[Any]] = defaultdict(list)
    for item in items:
        by_doc[item.metadata["doc_id"]].append(item)
    docs = sorted(by_doc)[: args.docs]
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for number, doc in enumerate(docs, 1):
        article = runner.root(head.format(article=by_doc[doc][0].input.strip()))
        for item in by_doc[doc][: args.summaries]:
            summary_text = body.format(summary=(item.response or "").strip())
            summary = runner.child(article, summary_text)
            pooled = runner.states(article, summary_text)
            for criterion in CRITERIA:
                last = runner.states(summary, suffix[criterion])["last"]
                rows.append(
                    {
                        "doc": doc,
                        "criterion": criterion,
                        "label": item.labels[criterion],
                        "last": last,
                        "mean": pooled["mean"],
                    }
                )
        elapsed = time.perf_counter() - started
        console.print(
            f"  SummEval doc {number}/{len(docs)}: {runner.forward_tokens} tokens run, "
            f"{elapsed:.0f} s",
            highlight=False,
        )
    return {"rows": rows, "docs": docs}


def split_groups(groups: list[str], held_share: float, seed: int) -> set[str]:
    keys = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(keys))
    n_held = max(1, round(held_share * len(keys)))
    return {keys[i] for i in order[:n_held]}


def within(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> float:
    """Mean within-group Spearman; NaN when no group has two items (one per dialogue)."""
    per_group = within_group_spearman(scores, labels, groups)
    return float(np.nanmean(per_group)) if np.isfinite(per_group).any() else float("nan")


def pooled(scores: np.ndarray, labels: np.ndarray) -> float:
    return float(stats.spearmanr(scores, labels).statistic)


def layer_table(
    model: Any,
    ids: list[int],
    rows: list[dict[str, Any]],
    criteria: tuple[str, ...] = CRITERIA,
    points: tuple[int, ...] = POINTS,
    title: str = "SummEval",
) -> dict[str, Any]:
    """Pooled / within-group Spearman of every layer's expected score (within-group is
    n/a where every group holds one item, as for dialogues)."""
    out: dict[str, Any] = {}
    table = Table(
        title=f"{title}: per-layer Spearman (pooled / within-group), all items, no fitting"
    )
    table.add_column("layer")
    for criterion in criteria:
        for lens in ("raw", "norm"):
            table.add_column(f"{criterion[:4]} {lens}")
    n_layers = rows[0]["last"].shape[0]
    cells: dict[tuple[int, str, str], str] = {}
    for criterion in criteria:
        sub = [r for r in rows if r["criterion"] == criterion]
        labels = np.array([r["label"] for r in sub])
        groups = np.array([r["doc"] for r in sub])
        for lens in ("raw", "norm"):
            logits = np.stack([layer_logits(model, r["last"], ids, lens) for r in sub])
            expected = np.exp(log_softmax(logits)) @ np.array(points, float)  # (items, layers)
            for layer in range(n_layers):
                e = expected[:, layer]
                if np.ptp(e) < 1e-9:
                    cells[(layer, criterion, lens)] = "const"
                    continue
                p, w = pooled(e, labels), within(e, labels, groups)
                out[f"{criterion}/{lens}/{layer}"] = {"pooled": p, "within": w}
                cells[(layer, criterion, lens)] = f"{p:+.2f}/{w:+.2f}"
    for layer in range(n_layers):
        table.add_row(
            str(layer), *[cells[(layer, c, lens)] for c in criteria for lens in ("raw", "norm")]
        )
    console.print(table)
    return out


def probe_variants(n_layers: int) -> list[tuple[str, Any]]:
    """(name, feature function) for every pooling tried."""
    upper = list(range(n_layers // 2, n_layers))
    spaced = [n_layers // 4, n_layers // 2, 3 * n_layers // 4, n_layers - 1]
    variants: list[tuple[str, Any]] = []
    for layer in range(1, n_layers):
        variants.append((f"last@L{layer}", lambda r, k=layer: r["last"][k]))
    for layer in (n_layers // 2, 3 * n_layers // 4, n_layers - 1):
        variants.append((f"mean-summary@L{layer}", lambda r, k=layer: r["mean"][k]))
    variants.append(("last, mean of upper half", lambda r: r["last"][upper].mean(axis=0)))
    variants.append(("last, 4 layers concat", lambda r: r["last"][spaced].reshape(-1)))
    variants.append(
        (
            "last+mean-summary, upper half",
            lambda r: np.concatenate([r["last"][upper].mean(0), r["mean"][upper].mean(0)]),
        )
    )
    return variants


def held_out_estimators(
    model: Any,
    ids: list[int],
    rows: list[dict[str, Any]],
    args: argparse.Namespace,
    criteria: tuple[str, ...] = CRITERIA,
    points: tuple[int, ...] = POINTS,
    select_by: str = "within",
) -> dict[str, Any]:
    """Every estimator on the held-out groups, each fitted and chosen on the training groups
    alone; `select_by` is the training-CV Spearman that picks probe variants and the LAGER
    lens ("pooled" where groups are single items, e.g. one dialogue each)."""
    score_of = within if select_by == "within" else lambda s, y, g: pooled(s, y)
    report: dict[str, Any] = {}
    groups_all = [r["doc"] for r in rows]
    held = split_groups(groups_all, args.held_share, args.seed)
    n_layers = rows[0]["last"].shape[0]
    for criterion in criteria:
        sub = [r for r in rows if r["criterion"] == criterion]
        train = [r for r in sub if r["doc"] not in held]
        test = [r for r in sub if r["doc"] in held]
        y_train = np.array([r["label"] for r in train])
        y_test = np.array([r["label"] for r in test])
        g_train = [r["doc"] for r in train]
        g_test = np.array([r["doc"] for r in test])
        folds = min(args.folds, len(set(g_train)))
        logits = {
            lens: (
                np.stack([layer_logits(model, r["last"], ids, lens) for r in train]),
                np.stack([layer_logits(model, r["last"], ids, lens) for r in test]),
            )
            for lens in ("raw", "norm")
        }
        tried: list[dict[str, Any]] = []
        best: tuple[float, str, Any, float] | None = None
        for name, features in probe_variants(n_layers):
            x_train = np.stack([features(r) for r in train])
            for alpha in args.alphas:
                oof = cross_validated(x_train, y_train, g_train, n_folds=folds, alpha=alpha)
                score = float(np.nan_to_num(score_of(oof, y_train, np.array(g_train)), nan=-2.0))
                tried.append(
                    {
                        "variant": name,
                        "alpha": alpha,
                        "cv_within": within(oof, y_train, np.array(g_train)),
                        "cv_pooled": pooled(oof, y_train),
                    }
                )
                if best is None or score > best[0]:
                    best = (score, name, features, alpha)
        assert best is not None
        _, name, features, alpha = best
        head = fit_probe(np.stack([features(r) for r in train]), y_train, alpha=alpha)
        probe_test = head.predict(np.stack([features(r) for r in test]))
        lager_cv: dict[str, float] = {}
        for lens in ("raw", "norm"):
            oof = np.full(len(train), np.nan)
            for tr, te in grouped_folds(g_train, folds, args.seed):
                w = fit_lager(logits[lens][0][tr], y_train[tr], points, lens=lens)  # type: ignore[arg-type]
                oof[te] = w.expected(logits[lens][0][te], points)
            lager_cv[lens] = score_of(oof, y_train, np.array(g_train))
        lens_fit = max(lager_cv, key=lambda k: np.nan_to_num(lager_cv[k], nan=-2.0))
        fitted = fit_lager(logits[lens_fit][0], y_train, points, lens=lens_fit)  # type: ignore[arg-type]
        final = np.exp(log_softmax(logits["norm"][1][:, -1]))
        estimates = {
            "final-layer expected": final @ np.array(points, float),
            "parsed (argmax)": np.array(points, float)[final.argmax(axis=1)],
            "LAGER uniform, all layers": uniform(n_layers).expected(logits["raw"][1], points),
            "LAGER uniform, upper half (norm)": uniform(n_layers, n_layers // 2).expected(
                logits["norm"][1], points
            ),
            f"LAGER fitted ({lens_fit})": fitted.expected(logits[lens_fit][1], points),
            f"learned head ({name}, α={alpha:g})": probe_test,
        }
        comparison = compare_estimators(
            estimates,
            y_test,
            g_test,
            criterion=criterion,
            baseline="final-layer expected",
            n_resamples=args.resamples,
        )
        console.print(comparison.render())
        key = f"cv_{select_by}"
        tried.sort(key=lambda t: -np.nan_to_num(t[key], nan=-2.0))
        console.print(
            f"  {criterion}: {len(tried)} probe variants tried on {len(set(g_train))} training groups "
            f"(grouped {folds}-fold CV); top 5 by CV {select_by} Spearman: "
            + "; ".join(f"{t['variant']} α={t['alpha']:g}: {t[key]:+.3f}" for t in tried[:5]),
            highlight=False,
        )
        console.print(f"  LAGER lens chosen on training CV: {lager_cv}", highlight=False)
        report[criterion] = {
            "held_out_docs": sorted(held),
            "comparison": comparison.to_dict(),
            "probe_variants": tried,
            "lager_cv": lager_cv,
            "lager_weights": list(fitted.weights),
        }
    return report


def dialogue_text(messages: list[Any], budget: int) -> str:
    """The conversation as 'User: / Assistant:' lines; past `budget` characters its first
    40% and last 60% are kept (the closing turns settle whether the user got an answer)."""
    text = "\n".join(
        f"{'User' if m.role == 'user' else 'Assistant'}: {m.content.strip()}" for m in messages
    )
    if len(text) <= budget:
        return text
    return f"{text[: int(budget * 0.4)]}\n[...]\n{text[-int(budget * 0.6) :]}"


def run_llmrubric(runner: PrefixForward, args: argparse.Namespace) -> dict[str, Any]:
    """Whole dialogues, one score position per (dialogue, question); the label is the mean
    of the annotators' 1-4 ratings ("not applicable" left out). The dialogue runs once
    for all its questions."""
    questions = {c.id: c.question.strip() for c in get_preset("llmrubric").load_rubric().criteria}
    unknown = sorted(set(args.questions) - set(questions))
    if unknown:
        raise SystemExit(f"--questions: unknown {unknown}; have {sorted(questions)}")
    items = list(load_llmrubric(resolve_data_dir(args.data)))
    order = np.random.default_rng(args.seed).permutation(len(items))[: args.dialogues]
    head = runner.root(
        "<start_of_turn>user\nYou grade a conversation between a user and an assistant.\n\n"
    )
    suffix = {
        q: f"\n\n{questions[q]} Rate from 1 to 4 as JSON."
        '<end_of_turn>\n<start_of_turn>model\n{"score": '
        for q in args.questions
    }
    rows: list[dict[str, Any]] = []
    started, before = time.perf_counter(), runner.forward_tokens
    for k in order:
        item = items[int(k)]
        text = f"Conversation:\n{dialogue_text(item.input, args.dialogue_chars)}"
        dialogue = runner.child(head, text)
        mean_state = runner.states(head, text)["mean"]
        for question in args.questions:
            ratings = [r for r in item.labels[question] if r is not None]
            if not ratings:
                continue
            rows.append(
                {
                    "doc": item.id,
                    "criterion": question,
                    "label": float(np.mean(ratings)),
                    "last": runner.states(dialogue, suffix[question])["last"],
                    "mean": mean_state,
                }
            )
    elapsed = time.perf_counter() - started
    tokens = runner.forward_tokens - before
    console.print(
        f"  LLM-Rubric: {len(order)} dialogues (<= {args.dialogue_chars} chars), {len(rows)} "
        f"score positions; {tokens} tokens run in {elapsed:.0f} s",
        highlight=False,
    )
    return {"rows": rows}


def run_autoj(
    runner: PrefixForward, model: Any, tok: Any, args: argparse.Namespace
) -> dict[str, Any]:
    pairs = [
        item
        for item in load_autoj(resolve_data_dir(args.data))
        if item.labels["preference"] != "tie"
        and len(item.input) + len(item.response or "") + len(item.response_b or "")
        < args.pair_chars
    ][: args.pairs]
    if len(pairs) < 4:
        console.print(f"  Auto-J: only {len(pairs)} pairs fit --pairs/--pair-chars; skipped")
        return {}
    ids = choice_token_ids(tok, ("A", "B"))
    assert ids is not None
    rows = []
    for item in pairs:
        head = runner.root(
            "<start_of_turn>user\nWhich response answers the question better?\n\n"
            f"Question:\n{item.input.strip()}\n\n"
        )
        text = (
            f"Response A:\n{(item.response or '').strip()}\n\nResponse B:\n{(item.response_b or '').strip()}\n\n"
            'Answer with a JSON object {"verdict": "A" or "B"}.<end_of_turn>\n<start_of_turn>model\n{"verdict": "'
        )
        last = runner.states(head, text)["last"]
        rows.append(
            {
                "doc": item.id,
                "label": 1.0 if item.labels["preference"] == "A" else 0.0,
                "last": last,
            }
        )
    console.print(
        f"  Auto-J: {len(rows)} pairs, {runner.forward_tokens} tokens run in total", highlight=False
    )
    groups = [r["doc"] for r in rows]
    held = split_groups(groups, args.held_share, args.seed)
    train = [r for r in rows if r["doc"] not in held]
    test = [r for r in rows if r["doc"] in held]
    n_layers = rows[0]["last"].shape[0]
    y_train = np.array([r["label"] for r in train])
    y_test = np.array([r["label"] for r in test])
    lt = np.stack([layer_logits(model, r["last"], ids, "norm") for r in train])
    le = np.stack([layer_logits(model, r["last"], ids, "norm") for r in test])
    p_a = np.exp(log_softmax(le[:, -1]))[:, 0]
    fitted = fit_lager(lt, y_train, (1.0, 0.0))
    layer = n_layers - 1
    head = fit_probe(
        np.stack([r["last"][layer] for r in train]), y_train, kind="logistic", alpha=100.0
    )
    estimates = {
        "final-layer P(A)": p_a,
        "parsed (argmax)": (p_a > 0.5).astype(float),
        "LAGER uniform, upper half": uniform(n_layers, n_layers // 2).expected(le, (1.0, 0.0)),
        "LAGER fitted": fitted.expected(le, (1.0, 0.0)),
        f"learned head (logistic, L{layer})": head.predict(
            np.stack([r["last"][layer] for r in test])
        ),
    }
    table = Table(
        title=f"Auto-J held-out pairs (n={len(test)}): accuracy [95% bootstrap CI], Δ vs final-layer"
    )
    for column in ("estimator", "accuracy", "Δ accuracy"):
        table.add_column(column)
    rng = np.random.default_rng(args.seed)
    draws = rng.integers(0, len(test), size=(args.resamples, len(test)))
    correct = {k: ((v > 0.5) == (y_test > 0.5)).astype(float) for k, v in estimates.items()}
    base = correct["final-layer P(A)"]
    out = {}
    for name, c in correct.items():
        reps = c[draws].mean(axis=1)
        diff = (c - base)[draws].mean(axis=1)
        acc = f"{c.mean():.2f} [{np.percentile(reps, 2.5):.2f}, {np.percentile(reps, 97.5):.2f}]"
        d = f"{(c - base).mean():+.2f} [{np.percentile(diff, 2.5):+.2f}, {np.percentile(diff, 97.5):+.2f}]"
        table.add_row(name, acc, d)
        out[name] = {"accuracy": float(c.mean()), "diff": float((c - base).mean())}
    console.print(table)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=20)
    parser.add_argument("--summaries", type=int, default=16, help="summaries per document")
    parser.add_argument("--dialogues", type=int, default=64, help="LLM-Rubric dialogues")
    parser.add_argument("--dialogue-chars", type=int, default=2000)
    parser.add_argument("--questions", nargs="+", default=["Q0"], help="LLM-Rubric questions")
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--pair-chars", type=int, default=3000)
    parser.add_argument("--held-share", type=float, default=1 / 3)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--alphas", type=float, nargs="+", default=[10.0, 100.0, 1000.0])
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    model, tok = load_causal_lm("embedded")
    runner = PrefixForward(model, tok, "embedded-gemma-3-270m", HiddenCache())
    ids = choice_token_ids(tok, tuple(str(p) for p in POINTS))
    assert ids is not None
    summeval = run_summeval(runner, args)
    forward_s = time.perf_counter() - started
    console.print(
        f"SummEval: {len(summeval['docs'])} docs, {len(summeval['rows'])} score positions; "
        f"{runner.forward_tokens} tokens run ({runner.forward_tokens / max(forward_s, 1e-9):.0f} tokens/s "
        "including the model load; 0 when every state came from the disk cache)",
        highlight=False,
    )
    report: dict[str, Any] = {"sizes": vars(args) | {"json": str(args.json)}}
    report["layers"] = layer_table(model, ids, summeval["rows"])
    report["summeval"] = held_out_estimators(model, ids, summeval["rows"], args)
    dialogues = run_llmrubric(runner, args)
    if len({r["doc"] for r in dialogues["rows"]}) >= 6:
        dialogue_ids = choice_token_ids(tok, tuple(str(p) for p in DIALOGUE_POINTS))
        assert dialogue_ids is not None
        questions = tuple(args.questions)
        report["llmrubric_layers"] = layer_table(
            model, dialogue_ids, dialogues["rows"], questions, DIALOGUE_POINTS, "LLM-Rubric"
        )
        report["llmrubric"] = held_out_estimators(
            model, dialogue_ids, dialogues["rows"], args, questions, DIALOGUE_POINTS, "pooled"
        )
    else:
        console.print("  LLM-Rubric: fewer than 6 labelled dialogues; estimators skipped")
    report["autoj"] = run_autoj(runner, model, tok, args)
    report["seconds"] = time.perf_counter() - started
    console.print(f"total {report['seconds']:.0f} s", highlight=False)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
