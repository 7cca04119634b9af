"""Every case a test session judged, in order: the rates `assert_rate` decides on, the
terminal summary, and the run folders `--jurist-report` writes.

A report folder is an ordinary grading run (results.jsonl, summary.json, the run saved in
the store with its settings, the rubric and the judged items beside it), so `jurist view`,
`jurist report` and `jurist meta` open it like any other run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from jurist.core.data import FieldMap, Item
from jurist.core.judgment import Judgment
from jurist.core.rubric import save_rubric
from jurist.datasets import ItemSource
from jurist.engine.outputs import RESULTS, SUMMARY, ResultsFile, claim_output_dir, write_json
from jurist.engine.summary import GradeSummary, SummaryBuilder
from jurist.grading import GradeConfig
from jurist.session import JudgeSetup
from jurist.stats.results import Figure
from jurist.store import Store, new_run_id
from jurist.testing.judged import JudgedCase

__all__ = ["Entry", "Record"]

RUBRIC_FILE = "rubric.yaml"
ITEMS_FILE = "items.jsonl"


@dataclass(frozen=True)
class Entry:
    """One judged case: the test that judged it, its group (the test function's name, so
    a parametrized test's cases count together), the item and its outcome."""

    test: str
    group: str
    item: Item
    case: JudgedCase


@dataclass
class Record:
    entries: list[Entry] = field(default_factory=list)

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)

    def outcomes(self, criterion: str, group: str | None = None) -> list[bool]:
        """Each recorded outcome of `criterion` (in `group` when given), in judging order."""
        return [
            entry.case.outcomes[criterion]
            for entry in self.entries
            if criterion in entry.case.outcomes and group in (None, entry.group)
        ]

    def criteria(self) -> list[str]:
        """Every criterion with a bar, in the order first judged."""
        seen: dict[str, None] = {}
        for entry in self.entries:
            seen |= dict.fromkeys(entry.case.outcomes)
        return list(seen)

    def rates(self) -> dict[str, Figure]:
        """Each criterion's pass rate with its Wilson interval."""
        rates = {}
        for criterion in self.criteria():
            outcomes = self.outcomes(criterion)
            rates[criterion] = Figure.share(sum(outcomes), len(outcomes))
        return rates

    def judgments(self) -> Iterator[Judgment]:
        for entry in self.entries:
            yield from entry.case.judgments

    def totals(self) -> tuple[int, int]:
        """(model calls, cache hits) over every judgment of the session."""
        judged = list(self.judgments())
        return sum(j.calls for j in judged), sum(j.cache_hits for j in judged)

    def summary_lines(self) -> list[str]:
        """The terminal summary: calls, then each criterion's pass rate and interval."""
        calls, hits = self.totals()
        lines = [f"{len(self.entries)} cases judged: {calls} model calls, {hits} cache hits"]
        for criterion, rate in self.rates().items():
            lines.append(f"  {criterion}: pass rate {rate.cell()} (95% Wilson interval)")
        return lines

    def write_runs(self, folder: Path, store: Store, setup: JudgeSetup) -> list[Path]:
        """One run folder per (rubric, mode) judged: `folder` itself when there is one."""
        groups: dict[tuple[str, str], list[Entry]] = {}
        for entry in self.entries:
            for judgment in entry.case.judgments:
                key = (entry.case.rubric.content_hash, judgment.mode)
                groups.setdefault(key, []).append(replace(entry, case=_only(entry, judgment)))
        written = []
        for entries in groups.values():
            mode = entries[0].case.judgments[0].mode
            name = f"{entries[0].case.rubric.name}-{mode}"
            target = folder if len(groups) == 1 else folder / name
            _write_run(target, entries, store, replace(setup, mode=mode))
            written.append(target)
        return written


def _only(entry: Entry, judgment: Judgment) -> JudgedCase:
    return replace(entry.case, judgments=(judgment,))


def _write_run(folder: Path, entries: list[Entry], store: Store, setup: JudgeSetup) -> None:
    """An ordinary run: the folder claimed, the run stored with a config naming the rubric
    and items written beside the results, so viewers can show the judged texts."""
    run_id = new_run_id()
    claim_output_dir(folder, run_id, [], resume=False, overwrite=True)
    rubric = entries[0].case.rubric
    save_rubric(rubric, folder / RUBRIC_FILE)
    lines = [json.dumps(e.item.model_dump(mode="json", exclude_none=True)) for e in entries]
    (folder / ITEMS_FILE).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    pairwise = setup.mode == "pairwise"
    fields = FieldMap(id="id", reference="reference", response_b="response_b" if pairwise else None)
    config = GradeConfig(
        rubric_path=str((folder / RUBRIC_FILE).resolve()),
        items=ItemSource(data=(folder / ITEMS_FILE).resolve(), fields=fields),
        setup=setup,
        output_dir=str(folder),
    )
    store.create_run(run_id, config.stored(rubric))
    judgments = [
        entry.case.judgments[0].model_copy(update={"index": index, "item_id": entry.item.id})
        for index, entry in enumerate(entries)
    ]
    builder = SummaryBuilder()
    for judgment in judgments:
        store.save_result(run_id, judgment)
        builder.add(judgment)
    ResultsFile(folder / RESULTS, judgments).close()
    built = builder.build() | {"run_id": run_id, "status": "finished", "skipped_rows": 0}
    write_json(folder / SUMMARY, GradeSummary.model_validate(built).as_dict())
    store.set_run_status(run_id, "finished")
