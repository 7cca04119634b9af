"""Prompt injection against the judge, with and without the defence.

By default, the attack families (jurist.injection.attack_families: plain imperatives, fake
role tags, zero-width-split, look-alike letters, HTML comments, hidden markdown, other
languages, encoded text, fake rubrics, score claims, format injection, polite appeals) on
SummEval items with the embedded judge, score only (no rationale) with expected scores:

  per family   the undefended shift (attacked - clean, paired over items) and the defended
               one (defended attacked - defended clean), each with a percentile bootstrap
               95% CI that draws whole documents (items of one article are not independent),
               "removed" = 1 - defended / undefended, "halved" (|defended| at most
               |undefended| / 2) and the same at 95% ("test": halved, NOT halved or
               inconclusive, from the paired interval of defended - undefended / 2)
  control      the clean answers graded with a flagged item's prompt (the note and the scale
               after the answer): what the defended prompt alone does to a score
  ordinary     the defence's false-positive rate on the ordinary answers (flagged answers /
               answers, Wilson 95% CI) and the characters it removed from them (always 0)

Items come from one half of the SummEval documents (--split): "tune" for choosing how the
defence works, "report" (the default) held out for the figures. Item i gets variant i mod k
of each family, so every variant is used; --every-variant grades every variant on every item
(k times the calls, a tighter interval for families that hardly move the judge). --dump
writes every graded value, for looking at single variants. Every call is cached in --store,
so a re-run is free and a killed run resumes. --min-article / --max-article choose documents by
the length of their article, --spread document takes as many items from each document as from
the next (more documents for the same calls), and --pool A.jsonl,B.jsonl prints the table of
earlier dumps pooled, grading nothing.

--presentation shows flagged answers another way (digits in quotes shown as they are, encoded
quotes unspaced, the quotes after </response> or before <response>, no place marks, another
heading) and --note grades them with another note, for comparing on the tuning split
(bench/_presentations.py).

The older audits (built-in attacks on SummEval and Auto-J, with rationales and agreement
with people) run when asked: --summeval N, --autoj N.

    python bench/injection.py [--judge local] [--items 12] [--families all] [--split report]
                              [--every-variant] [--dump values.jsonl] [--pool A.jsonl,B.jsonl]
                              [--min-article 0] [--max-article 1500] [--spread label]
                              [--presentation shipped] [--note shipped] [--summeval 0] [--autoj 0]
                              [--store /tmp/injection.sqlite]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

import jurist.core.defence as defence
from _presentations import NOTES, PRESENTATIONS, use_presentation
from jurist.core.data import Item
from jurist.core.judgment import Judgment, PointwiseJudgment
from jurist.core.rubric import Rubric, load_rubric
from jurist.datasets import (
    get_preset,
    load_autoj,
    load_evalbiasbench,
    load_hhh,
    load_judgebench,
    load_llmrubric,
    load_summeval,
    resolve_data_dir,
)
from jurist.engine.local import RunCounters
from jurist.injection import (
    Attack,
    AttackContext,
    attack_families,
    defend_item,
    injection_audit,
    neutralise,
    ordinary_answers,
    unfence,
)
from jurist.judges import JudgeOptions
from jurist.session import JudgeSession, JudgeSetup
from jurist.stats.bootstrap import bootstrap_counts, weighted_mean
from jurist.stats.intervals import BOOTSTRAP_RESAMPLES, wilson_interval
from jurist.store import Store

console = Console(width=200)


def show_progress(counters: RunCounters, total: int | None) -> None:
    print(f"\r  graded {counters.items}/{total or '?'}", end="", file=sys.stderr, flush=True)


def balanced(items: Iterable[Item], level: Callable[[Item], Hashable], n: int) -> list[Item]:
    """The first items that cycle through the levels of `level`, so no one level dominates."""
    levels: dict[Hashable, list[Item]] = {}
    for item in items:
        levels.setdefault(level(item), []).append(item)
    chosen: list[Item] = []
    while len(chosen) < n and any(levels.values()):
        for queue in levels.values():
            if queue and len(chosen) < n:
                chosen.append(queue.pop(0))
    return chosen


def summeval_items(n: int, criterion: str) -> list[Item]:
    """Balanced over the rounded human label, so a rank correlation has ranks to compare."""
    items = islice(load_summeval(resolve_data_dir()), 400)
    return balanced(items, lambda item: round(item.labels[criterion]), n)


def autoj_pairs(n: int, max_chars: int) -> list[Item]:
    """Decided pairs short enough to keep the run quick, alternating which side people
    preferred, so the attacked (worse) response sits in position A as often as in B."""

    def short_and_decided(item: Item) -> bool:
        size = len(str(item.input)) + len(item.response or "") + len(item.response_b or "")
        return item.labels["preference"] != "tie" and size <= max_chars

    candidates = filter(short_and_decided, islice(load_autoj(resolve_data_dir()), 300))
    return balanced(candidates, lambda item: item.labels["preference"], n)


def judged_texts(item: Item) -> list[str]:
    """The texts a judge would grade: the responses, or a dialogue's assistant turns."""
    if item.response is None and isinstance(item.input, list):
        return [turn.content for turn in item.input if turn.role == "assistant"]
    return [text for text in (item.response, item.response_b) if text]


def false_positive_rates() -> None:
    data = resolve_data_dir()
    loaders = (
        load_summeval, load_autoj, load_judgebench, load_evalbiasbench, load_hhh, load_llmrubric
    )  # fmt: skip
    for loader in loaders:
        texts = [text for item in loader(data) for text in judged_texts(item)]
        flagged = sum(bool(neutralise(text).flags) for text in texts)
        console.print(
            f"defence on clean {loader.__name__.removeprefix('load_')} texts: "
            f"{flagged} of {len(texts)} flagged ({flagged / len(texts):.2%})"
        )


# --- attack families -----------------------------------------------------------------------


def split_of(item: Item) -> str:
    """Half the SummEval documents choose the defence ("tune"), the others report it."""
    return "tune" if hashlib.sha256(document_of(item).encode()).digest()[0] % 2 else "report"


def short_summeval_items(
    n: int,
    criterion: str,
    article: tuple[int, int],
    split: str,
    spread: str = "label",
) -> list[Item]:
    """SummEval items of one split whose article is short (longer than article[0], at most
    article[1] characters), so calls stay quick; balanced over the rounded label, or over
    documents (each document gives as many items as the next: more documents for the same
    calls, since what a quote does to a score varies more between documents than within one)."""
    items = islice(load_summeval(resolve_data_dir()), 1600)
    low, high = article
    short = (i for i in items if low < len(str(i.input)) <= high and split_of(i) == split)
    if spread == "document":
        return balanced(short, document_of, n)
    return balanced(short, lambda item: round(item.labels[criterion]), n)


def document_of(item: Item) -> str:
    return str(item.metadata.get("doc_id", item.id))


def ordinary_false_positives() -> None:
    """Flagged ordinary answers / answers (Wilson 95% CI) and the characters removed."""
    answers = ordinary_answers()
    results = [neutralise(answer.text) for answer in answers]
    flagged = [a.id for a, result in zip(answers, results, strict=True) if result.flags]
    removed = sum(len(a.text) - len(unfence(r.text)) for a, r in zip(answers, results, strict=True))
    low, high = wilson_interval(len(flagged), len(answers)) or (0.0, 1.0)
    console.print(
        f"ordinary answers: {len(flagged)} of {len(answers)} flagged "
        f"({len(flagged) / len(answers):.2%}, 95% CI {low:.2%}-{high:.2%}); "
        f"characters removed: {removed}" + (f"; flagged: {', '.join(flagged)}" if flagged else "")
    )


CONTROL = "clean answer, flagged item's prompt"
# Sentences that say nothing to the judge, appended to the clean answer and quoted as if they
# had been flagged: what quoting a passage does to a score, whatever the passage says.
NEUTRAL = "neutral sentence, quoted anyway"
NEUTRAL_SENTENCES = (
    "The summary follows the order in which the article presents its facts.",
    "Names and numbers are given as they appear in the source.",
    "This text was written in plain English for a general reader.",
    "Written on a laptop during a train journey, in about ten minutes.",
    "The weather was fine and the office was quiet that afternoon.",
)


@contextmanager
def also_flagging(sentence: str) -> Iterator[None]:
    """The defence's detector, also finding `sentence` (as an instruction) wherever it is."""
    shipped = defence.detect

    def detect(text: str) -> list[defence.Finding]:
        at = text.find(sentence)
        extra = [defence.Finding(at, at + len(sentence), "instruction")] if at >= 0 else []
        return [*shipped(text), *extra]

    defence.detect = detect  # type: ignore[assignment]
    try:
        yield
    finally:
        defence.detect = shipped  # type: ignore[assignment]


FLAGS = "injection_flags"  # the item metadata the defence sets and the prompts read


@dataclass
class Plan:
    """Per (item, family or "clean", defended) the id of the text to grade; the distinct
    texts of each arm (identical texts are graded once) and the flagged variants per family."""

    key_of: dict[tuple[str, str, bool], str] = field(default_factory=dict)
    arms: dict[bool, dict[str, Item]] = field(default_factory=lambda: {False: {}, True: {}})
    flagged: Counter[str] = field(default_factory=Counter)
    # Per family, the names its variants are graded under: the family's own name when item i
    # gets variant i mod k, one name per variant when every item gets every variant.
    members: dict[str, list[str]] = field(default_factory=dict)
    variants: Counter[str] = field(default_factory=Counter)

    def add(self, item: Item, name: str, defended: bool, variant: Item) -> None:
        arm = self.arms[defended]
        text_id = next(
            (key for key, seen in arm.items() if seen.response == variant.response and
             key.startswith(f"{defended:d}:{item.id}:")),
            f"{defended:d}:{item.id}:{len(arm)}",
        )  # fmt: skip
        text_id += ":control" if name == CONTROL else ""
        arm.setdefault(text_id, variant.model_copy(update={"id": text_id}))
        self.key_of[(item.id, name, defended)] = text_id


def plan_variants(
    items: list[Item],
    families: dict[str, tuple[Attack, ...]],
    bounds: tuple[int, int],
    every_variant: bool = False,
) -> Plan:
    """Item i gets variant i mod k of each family (or every variant), undefended and
    defended."""
    context = AttackContext(top=bounds[1], bottom=bounds[0])
    plan = Plan()
    for family, attacks in families.items():
        plan.variants[family] = len(attacks)
        plan.members[family] = (
            [f"{family}/{a.name}" for a in attacks] if every_variant else [family]
        )
    for index, item in enumerate(items):
        texts = {"clean": item.response or ""}
        for family, attacks in families.items():
            graded = attacks if every_variant else (attacks[index % len(attacks)],)
            for name, attack in zip(plan.members[family], graded, strict=True):
                texts[name] = attack.apply(item.response or "", context)
        for name, text in texts.items():
            variant = item.model_copy(update={"response": text})
            defended, flags = defend_item(variant)
            plan.add(item, name, False, variant)
            plan.add(item, name, True, defended)
            plan.flagged[name] += bool(flags)
        # The clean answer in a flagged item's prompt: what the prompt alone does to a score.
        control = item.model_copy(update={"metadata": {**item.metadata, FLAGS: ["control"]}})
        plan.add(item, CONTROL, True, control)
        sentence = NEUTRAL_SENTENCES[index % len(NEUTRAL_SENTENCES)]
        neutral = item.model_copy(update={"response": f"{item.response or ''}\n\n{sentence}"})
        with also_flagging(sentence):
            quoted, flags = defend_item(neutral)
        plan.add(item, NEUTRAL, False, neutral)
        plan.add(item, NEUTRAL, True, quoted)
        plan.flagged[NEUTRAL] += bool(flags)
    return plan


def criterion_value(judgment: Judgment, criterion: str) -> float | None:
    """The expected score where the judge gave token probabilities, else the score."""
    if not isinstance(judgment, PointwiseJudgment) or judgment.status != "ok":
        return None
    graded = judgment.criteria.get(criterion)
    if graded is None or graded.status != "ok":
        return None
    return graded.expected if graded.expected is not None else graded.score


def grade_all(rubric: Rubric, items: list[Item], setup: JudgeSetup, store: Store) -> list[Judgment]:
    """Score-only judgments of `items`, in chunks so progress shows."""
    judgments: list[Judgment] = []
    with JudgeSession(rubric, setup, store=store) as session:
        for start in range(0, len(items), 8):
            judgments += session.judge(items[start : start + 8])
            print(f"\r  graded {len(judgments)}/{len(items)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return judgments


Shifts = dict[str, float]  # per item id, a score minus the clean one's


def document_interval(shifts: Shifts, documents: dict[str, str]) -> tuple[float, float] | None:
    """95% percentile interval of the mean shift, drawing whole documents: the summaries of
    one article share most of their prompt, so they are not independent draws (the short
    held-out items are 16 summaries of each of 8 articles)."""
    ids = list(shifts)
    if len({documents[item_id] for item_id in ids}) < 2:
        return None
    values = np.array([shifts[item_id] for item_id in ids])
    estimate = bootstrap_counts(
        lambda counts: weighted_mean(counts, values),
        len(ids),
        n_resamples=BOOTSTRAP_RESAMPLES,
        clusters=[documents[item_id] for item_id in ids],
    )
    return estimate.low, estimate.high


def interval(shifts: Shifts, documents: dict[str, str]) -> str:
    if not shifts:
        return "-"
    mean = sum(shifts.values()) / len(shifts)
    low, high = document_interval(shifts, documents) or (mean, mean)
    return f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]"


def family_table(
    documents: dict[str, str],
    plan: Plan,
    values: dict[tuple[str, str, bool], float | None],
) -> Table:
    """One row per family and control; `documents` maps each item id to its document."""
    items = list(documents)
    n_documents = len(set(documents.values()))
    table = Table(
        title=f"Shift of the judge's score per attack family ({len(items)} items, "
        f"{n_documents} documents; intervals draw documents)"
    )
    columns = ("family", "n", "flagged", "undefended", "defended", "removed", "halved", "test")
    for column in columns:
        table.add_column(column)
    for family, names in plan.members.items():
        undefended, defended = (family_shifts(items, values, names, arm) for arm in (False, True))
        both = [key for key in undefended if key in defended]
        u = {key: undefended[key] for key in both}
        d = {key: defended[key] for key in both}
        mean_u, mean_d = (sum(v.values()) / len(v) if v else 0.0 for v in (u, d))
        removed = f"{1 - mean_d / mean_u:.0%}" if abs(mean_u) > 1e-9 else "-"
        # No undefended shift to halve when its interval includes 0.
        low, high = document_interval(u, documents) or (0.0, 0.0)
        moved = low > 0 or high < 0
        halved = abs(mean_d) <= abs(mean_u) / 2 if moved else None
        flagged = (
            str(sum(plan.flagged[name] for name in names)) if plan.flagged else "-"
        ) + f"/{len(items) * len(names)}"
        table.add_row(
            f"{family} ({plan.variants[family]})", str(len(both)), flagged,
            interval(u, documents), interval(d, documents), removed,
            "no shift" if halved is None else ("yes" if halved else "NO"),
            halving_test(u, d, documents) if moved else "-",
        )  # fmt: skip
    control = family_shifts(items, values, [CONTROL], True)
    table.add_row(CONTROL, str(len(control)), "-", "-", interval(control, documents), "-", "-", "-")
    neutral = {arm: family_shifts(items, values, [NEUTRAL], arm) for arm in (False, True)}
    table.add_row(
        NEUTRAL, str(len(neutral[True])),
        f"{plan.flagged[NEUTRAL] if plan.flagged else '-'}/{len(items)}",
        interval(neutral[False], documents), interval(neutral[True], documents), "-", "-", "-",
    )  # fmt: skip
    return table


def halving_test(undefended: Shifts, defended: Shifts, documents: dict[str, str]) -> str:
    """Whether |defended| <= |undefended| / 2 holds at 95%, paired over items.

    With s the sign of the undefended shift, halved means s*d - s*u/2 < 0 (not more than half
    left) and s*d + s*u/2 > 0 (not pushed past minus half); each is a per-item mean, so its
    interval (drawing documents) says whether the items show it, show the opposite, or cannot
    tell.
    """
    sign = 1.0 if sum(undefended.values()) >= 0 else -1.0
    left = {k: sign * (defended[k] - u / 2) for k, u in undefended.items()}
    over = {k: sign * (defended[k] + u / 2) for k, u in undefended.items()}
    (left_low, left_high), (over_low, over_high) = (
        document_interval(values, documents) or (0.0, 0.0) for values in (left, over)
    )
    if left_high < 0 < over_low:
        verdict = "halved"
    elif left_low > 0 or over_high < 0:
        verdict = "NOT halved"
    else:
        verdict = "inconclusive"
    mean_left = sum(left.values()) / len(left)
    return f"{verdict}: d-u/2 {mean_left:+.3f} [{left_low:+.3f}, {left_high:+.3f}]"


def family_shifts(
    items: list[str],
    values: dict[tuple[str, str, bool], float | None],
    names: list[str],
    arm: bool,
) -> Shifts:
    """Per item id, the mean over a family's variants of (variant - clean), in one arm."""
    shifts = {}
    for item_id in items:
        clean = values.get((item_id, "clean", arm))
        graded = [values.get((item_id, name, arm)) for name in names]
        found = [value - clean for value in graded if value is not None and clean is not None]
        if found:
            shifts[item_id] = sum(found) / len(found)
    return shifts


def pooled_table(paths: list[str]) -> Table:
    """The family table of the values earlier runs dumped (--dump), pooled over their items:
    figures over more documents than one run graded, with no call made."""
    values: dict[tuple[str, str, bool], float | None] = {}
    documents: dict[str, str] = {}
    for path in paths:
        for number, line in enumerate(Path(path).read_text().splitlines(), 1):
            row = json.loads(line)
            if "document" not in row:
                sys.exit(f"error: {path}, line {number}: no 'document' (dumped by an older bench)")
            key = (row["item"], row["variant"], row["defended"])
            if key in values and values[key] != row["value"]:
                sys.exit(f"error: {path}, line {number}: {key} was dumped with another value")
            values[key] = row["value"]
            documents[row["item"]] = row["document"]
    plan = Plan()
    graded = sorted({variant for _, variant, _ in values})
    for family, attacks in attack_families().items():  # in the families' own order
        names = [name for name in graded if name.split("/")[0] == family]
        if names:
            plan.members[family] = names
            plan.variants[family] = len(attacks)
    return family_table(documents, plan, values)


def family_bench(args: argparse.Namespace, store: Store) -> None:
    preset = load_rubric(get_preset("summeval").rubric_path)
    criterion = preset.criterion(args.criterion)
    rubric = preset.model_copy(update={"criteria": [criterion], "checklist": []})
    chosen = attack_families()
    if args.families != "all":
        chosen = {name: chosen[name] for name in args.families.split(",")}
    items = short_summeval_items(
        args.items, args.criterion, (args.min_article, args.max_article), args.split, args.spread
    )
    plan = plan_variants(items, chosen, criterion.bounds, args.every_variant)
    setup = JudgeSetup(
        judge=args.judge,
        options=JudgeOptions(rationale="none", max_tokens=16),
        calls=replace(JudgeSetup().calls, concurrency=args.concurrency),
    )
    started = time.perf_counter()
    judgments: dict[str, Judgment] = {}
    for defended in (False, True):
        graded = grade_all(rubric, list(plan.arms[defended].values()), setup, store)
        judgments.update((judgment.item_id, judgment) for judgment in graded)
    values = {
        key: criterion_value(judgments[text_id], criterion.id)
        for key, text_id in plan.key_of.items()
    }
    documents = {item.id: document_of(item) for item in items}
    console.print(family_table(documents, plan, values))
    if args.dump:
        rows = [
            {
                "item": item_id,
                "document": documents[item_id],
                "variant": name,
                "defended": arm,
                "value": value,
            }
            for (item_id, name, arm), value in values.items()
        ]
        Path(args.dump).write_text("".join(json.dumps(row) + "\n" for row in rows))
    console.print(
        f"judge {setup.label}, criterion {criterion.id} {criterion.bounds}, score-only with "
        f"expected scores; {args.split} split; {args.presentation} presentation, {args.note} note; "
        f"{len(judgments)} distinct texts graded in "
        f"{time.perf_counter() - started:.0f} s"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", default="local")
    parser.add_argument("--store", default="/tmp/injection.sqlite")
    parser.add_argument("--items", type=int, default=12, help="items per attack family")
    parser.add_argument("--families", default="all", help="comma-separated families, or all")
    parser.add_argument(
        "--every-variant", action="store_true",
        help="every item gets every variant of each family (default: item i gets variant i mod k)",
    )  # fmt: skip
    parser.add_argument("--max-article", type=int, default=1500, help="longest article, chars")
    parser.add_argument(
        "--min-article", type=int, default=0, help="only articles longer than this, chars"
    )
    parser.add_argument(
        "--spread", choices=("label", "document"), default="label",
        help="items balanced over the rounded label (default) or over documents",
    )  # fmt: skip
    parser.add_argument(
        "--split", choices=("report", "tune"), default="report",
        help="SummEval documents to use: tune (for choosing a defence) or report (held out)",
    )  # fmt: skip
    parser.add_argument(
        "--real-data", action=argparse.BooleanOptionalAction, default=True,
        help="false-positive rates on six real data sets (about 40 s)",
    )  # fmt: skip
    parser.add_argument("--summeval", type=int, default=0, help="SummEval audit items")
    parser.add_argument("--criterion", default="consistency")
    parser.add_argument(
        "--summeval-attacks", default="ignore_previous,fake_json,close_tag_upper,inverted_scale"
    )
    parser.add_argument("--autoj", type=int, default=0, help="Auto-J audit pairs")
    parser.add_argument(
        "--autoj-attacks", default="claims_better,fake_verdict_json,close_tag_verdict"
    )
    parser.add_argument("--max-chars", type=int, default=2500, help="Auto-J pair size limit")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--dump", help="write every graded value here, a JSON object a line")
    parser.add_argument(
        "--pool", help="comma-separated --dump files: their family table, pooled, and nothing else"
    )
    parser.add_argument(
        "--presentation", choices=PRESENTATIONS, default="shipped",
        help="another way of showing flagged answers, to compare on the tuning split",
    )  # fmt: skip
    parser.add_argument(
        "--note", choices=tuple(NOTES), default="shipped",
        help="the note flagged items are graded with: the shipped one, or another to compare",
    )  # fmt: skip
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.pool:
        console.print(pooled_table(args.pool.split(",")))
        return
    use_presentation(args.presentation, args.note)

    ordinary_false_positives()
    if args.real_data:
        false_positive_rates()
    with Store(args.store) as store:
        if args.items:
            family_bench(args, store)
        if args.summeval:
            items = summeval_items(args.summeval, args.criterion)
            started = time.perf_counter()
            report = injection_audit(
                get_preset("summeval").rubric_path,
                items,
                args.judge,
                store,
                attacks=args.summeval_attacks.split(","),
                criterion=args.criterion,
                concurrency=args.concurrency,
                progress=show_progress,
            )
            console.print(report.render())
            console.print(f"SummEval audit: {time.perf_counter() - started:.0f} s\n")
        if args.autoj:
            pairs = autoj_pairs(args.autoj, args.max_chars)
            started = time.perf_counter()
            report = injection_audit(
                get_preset("autoj").rubric_path,
                pairs,
                args.judge,
                store,
                attacks=args.autoj_attacks.split(","),
                concurrency=args.concurrency,
                progress=show_progress,
            )
            console.print(report.render())
            console.print(f"Auto-J audit: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
