"""Rationale placement: judgments/s and agreement with SummEval's experts, side by side.

The same embedded judge grades the same SummEval summaries (all four criteria) three ways:
the rationale `before` the score (reasoning first), `after` it, and `none` (the score alone:
one constrained token, its distribution read at that position, G-Eval style). Each
placement starts from an empty cache, and the placements take turns per chunk of items so
machine noise hits all alike. Agreement is Spearman with the expert mean, on the parsed
score and on the expected score, with 95% bootstrap CIs over items.

`--server` measures the same against `python -m llama_cpp.server` started with
`--logits_all true` and jurist's `--logprobs` (the server then returns top log-probabilities
for every generated token, so a long rationale costs far more than with the embedded judge);
there the score-only placement runs twice: through the chat endpoint (`none`), and through
the completions endpoint with the chat template rendered by jurist (`none 1-token`: the
answer's beginning is written into the prompt and one token is generated, so the server
reads log-probabilities at that one position). `--placements none` limits the run to the
score-only placement.

    python bench/rationale.py --n 16
    python bench/rationale.py --server --placements none --n 8
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from _servers import llama_cpp_python_server
from jurist import CallPolicy, JudgeOptions, JudgeSession, JudgeSetup
from jurist.backends.llamacpp import default_model_path
from jurist.core.judgment import PointwiseJudgment
from jurist.datasets import load_preset
from jurist.stats import spearman

REPO = Path(__file__).resolve().parents[1]
PLACEMENTS = ("before", "after", "none")
CRITERIA = ("coherence", "consistency", "fluency", "relevance")


def bench_items(n: int, per_document: int = 4) -> list:
    """SummEval summaries, `per_document` from each document in file order, with a
    shortened article as the input (the model's context and the machine's time are small)."""
    taken: dict[str, int] = {}
    items = []
    for item in load_preset("summeval"):
        doc = item.metadata["doc_id"]
        if taken.get(doc, 0) >= per_document:
            continue
        taken[doc] = taken.get(doc, 0) + 1
        items.append(item.model_copy(update={"input": str(item.input)[:700], "reference": None}))
        if len(items) == n:
            break
    return items


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=16, help="SummEval summaries (x 4 criteria)")
    parser.add_argument("--chunks", type=int, default=2, help="alternating chunks of items")
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--server", action="store_true", help="llama_cpp.server with logprobs")
    parser.add_argument("--placements", default=",".join(PLACEMENTS))
    parser.add_argument(
        "--layout", default="rubric-first", choices=("rubric-first", "item-first"),
        help="pointwise prompt layout (jurist grade --layout)",
    )  # fmt: skip
    args = parser.parse_args()
    placements = tuple(p for p in PLACEMENTS if p in args.placements.split(","))
    if args.server:
        with tempfile.TemporaryDirectory() as folder:
            log = Path(folder) / "server.log"
            with llama_cpp_python_server(default_model_path(), log, logits_all=True) as url:
                judges = {p: (p, f"openai:{url}#gemma") for p in placements}
                if "none" in placements:
                    judges[ONE_TOKEN] = ("none", f"openai:{url}?chat_template=gemma#gemma")
                measure(args, judges, logprobs=True)
    else:
        measure(args, {p: (p, "local") for p in placements}, logprobs=None)


ONE_TOKEN = "none 1-token"


def measure(
    args: argparse.Namespace, judges: dict[str, tuple[str, str]], logprobs: bool | None
) -> None:
    """`judges`: label -> (rationale placement, judge spec)."""
    placements = tuple(judges)
    items = bench_items(args.n)
    chunks = [items[i :: args.chunks] for i in range(args.chunks)]
    seconds = dict.fromkeys(placements, 0.0)
    judged: dict[str, list[PointwiseJudgment]] = {p: [] for p in placements}
    rubric = REPO / "src" / "jurist" / "presets" / "summeval.yaml"
    with tempfile.TemporaryDirectory() as folder:
        sessions = {
            label: JudgeSession(
                rubric,
                JudgeSetup(
                    judge=judge,
                    options=JudgeOptions(
                        max_tokens=args.max_tokens,
                        rationale=placement,  # type: ignore[arg-type]
                        layout=args.layout,
                    ),
                    calls=CallPolicy(concurrency=1, timeout=None),
                    logprobs=logprobs,
                ),
                store=Path(folder) / f"{label}.sqlite",
            )
            for label, (placement, judge) in judges.items()
        }
        warm = placements[-1]
        sessions[warm]([items[0]])  # load the model once before timing anything
        sessions[warm].store.path.unlink(missing_ok=True)
        for number, chunk in enumerate(chunks):
            turn = number % len(placements)
            order = placements[turn:] + placements[:turn]
            for placement in order:
                started = time.perf_counter()
                judged[placement] += sessions[placement](chunk)  # type: ignore[arg-type]
                seconds[placement] += time.perf_counter() - started
        for session in sessions.values():
            session.close()

    judgments = len(items) * len(CRITERIA)
    where = "llama_cpp.server --logits_all, --logprobs" if logprobs else "in-process"
    print(f"embedded Gemma 3 270M ({where}), {len(items)} SummEval summaries x {len(CRITERIA)} "
          f"criteria = {judgments} judgments per placement, concurrency 1, {args.layout} prompts")  # fmt: skip
    print(f"{'placement':<14}{'judgments/s':>12}{'ratio':>8}{'parse err':>10}  "
          "Spearman parsed / expected [95% CI] per criterion")  # fmt: skip
    base = judgments / seconds[placements[0]]
    print(f"(ratio: to {placements[0]})")
    for placement in placements:
        rate = judgments / seconds[placement]
        rows = judged[placement]
        errors = sum(j.criteria[c].status != "ok" for j in rows for c in CRITERIA)
        cells = []
        for criterion in CRITERIA:
            human = np.array([j.labels[criterion] for j in rows], dtype=float)
            parsed = np.array([j.criteria[criterion].score or np.nan for j in rows], dtype=float)
            expected = np.array(
                [j.criteria[criterion].expected or np.nan for j in rows], dtype=float
            )
            p, e = spearman(parsed, human), spearman(expected, human)
            cells.append(
                f"{criterion[:4]} {p.value:+.2f} [{p.low:+.2f},{p.high:+.2f}] / "
                f"{e.value:+.2f} [{e.low:+.2f},{e.high:+.2f}]"
            )
        print(f"{placement:<14}{rate:>12.3f}{rate / base:>8.2f}{errors:>10}  " + "; ".join(cells))


if __name__ == "__main__":
    main()
