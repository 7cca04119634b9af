"""The judge a test session shares: one JudgeSession stack (one model in memory, one cache),
a judge per rubric and mode over it, and the record of every case judged.

Every call goes through the project's store, so a rerun whose outputs did not change is
answered from the cache and makes no model calls. The stack is built on the first judged
case: a session that judges nothing loads no model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jurist.core.data import Item, Message
from jurist.core.judgment import Judgment
from jurist.core.rubric import Rubric, load_rubric
from jurist.session import JudgeSession, JudgeSetup
from jurist.store import Store
from jurist.testing.judged import JudgedCase, outcomes_of
from jurist.testing.record import Entry, Record

__all__ = ["CurrentTest", "JuristJudge"]

Text = str | list[Message] | list[dict[str, str]]


@dataclass(frozen=True)
class CurrentTest:
    """The test being run: its node id (item ids derive from it), its function's name
    (the group its cases are counted in) and its folder (relative files resolve there)."""

    nodeid: str = "case"
    name: str = "case"
    folder: Path | None = None


class JuristJudge:
    """Judges test cases against rubrics and remembers every outcome.

    `store`: a Store (borrowed), a path, or None for the user's store ($JURIST_STORE)."""

    def __init__(
        self, setup: JudgeSetup | None = None, *, store: Store | str | Path | None = None
    ) -> None:
        self.setup = setup or JudgeSetup()
        self.record = Record()
        self.test = CurrentTest()
        self._store = store
        self._root: JudgeSession | None = None
        self._sessions: dict[tuple[str, str, bool], JudgeSession] = {}
        self._rubrics: dict[Path, Rubric] = {}
        self._ids: dict[str, int] = {}

    @property
    def label(self) -> str:
        return self.setup.label

    @property
    def store(self) -> Store | None:
        """The store every call is cached in (None until the first case is judged)."""
        return None if self._root is None else self._root.store

    def begin(self, test: CurrentTest) -> None:
        self.test = test

    def rubric(self, rubric: Rubric | str | Path) -> Rubric:
        """A rubric; a relative path is looked up beside the current test, then here."""
        if isinstance(rubric, Rubric):
            return rubric
        path = Path(rubric)
        if not path.is_absolute() and self.test.folder is not None:
            beside = self.test.folder / path
            path = beside if beside.exists() else path
        path = path.resolve()
        if path not in self._rubrics:
            self._rubrics[path] = load_rubric(path)
        return self._rubrics[path]

    def session(self, rubric: Rubric, mode: str, both_orders: bool = True) -> JudgeSession:
        """The judge for a rubric and mode, over the one shared stack."""
        if self._root is None:
            self._root = JudgeSession(None, self.setup, store=self._store)
        key = (rubric.content_hash, mode, both_orders)
        if key not in self._sessions:
            options = replace(self.setup.options, both_orders=both_orders)
            self._sessions[key] = self._root.with_options(options, rubric=rubric, mode=mode)
        return self._sessions[key]

    def check(
        self,
        response: str,
        *,
        rubric: Rubric | str | Path,
        input: Text = "",
        reference: str | None = None,
        at_least: Mapping[str, float] | None = None,
        required_checklist: bool = True,
        group: str | None = None,
    ) -> JudgedCase:
        """Judge one response (its criteria pointwise, its checklist yes/no) and record
        the outcome of each bar; nothing is asserted."""
        chosen = self.rubric(rubric)
        item = self._item(input=input, response=response, reference=reference)
        bars = dict(at_least or {})
        outcomes_of(chosen, (), bars, required_checklist)  # a bar naming nothing fails first
        modes = [mode for mode in ("pointwise", "checklist") if _has(chosen, mode)]
        judged = tuple(self._judge(chosen, mode, item) for mode in modes)
        return self._keep(chosen, item, judged, bars, required_checklist, group)

    def compare(
        self,
        a: str,
        b: str,
        *,
        rubric: Rubric | str | Path,
        input: Text = "",
        reference: str | None = None,
        both_orders: bool = True,
        group: str | None = None,
    ) -> JudgedCase:
        """Judge which of two responses is better (both presentation orders by default)
        and record whether `a` was preferred; nothing is asserted."""
        chosen = self.rubric(rubric)
        item = self._item(input=input, response=a, response_b=b, reference=reference)
        judged = (self._judge(chosen, "pairwise", item, both_orders),)
        return self._keep(chosen, item, judged, {}, False, group)

    def _item(self, **fields: Any) -> Item:
        """An item named after the current test (a second case in one test gets `#2`)."""
        count = self._ids[self.test.nodeid] = self._ids.get(self.test.nodeid, 0) + 1
        item_id = self.test.nodeid if count == 1 else f"{self.test.nodeid}#{count}"
        return Item(id=item_id, **{k: v for k, v in fields.items() if v is not None})

    def _judge(self, rubric: Rubric, mode: str, item: Item, both_orders: bool = True) -> Judgment:
        return self.session(rubric, mode, both_orders).judge([item])[0]

    def _keep(
        self,
        rubric: Rubric,
        item: Item,
        judged: tuple[Judgment, ...],
        bars: dict[str, float],
        required_checklist: bool,
        group: str | None,
    ) -> JudgedCase:
        outcomes = outcomes_of(rubric, judged, bars, required_checklist)
        case = JudgedCase(rubric, self.label, judged, bars, outcomes)
        self.record.add(Entry(self.test.nodeid, group or self.test.name, item, case))
        return case

    def write_report(self, folder: Path) -> list[Path]:
        """The session's cases as run folders (see `Record.write_runs`); none if nothing
        was judged."""
        if self.store is None or not self.record.entries:
            return []
        return self.record.write_runs(folder, self.store, self.setup)

    def close(self) -> None:
        """Close the stack (and the store, unless it was handed in)."""
        if self._root is not None:
            self._root.close()
        self._root = None
        self._sessions.clear()


def _has(rubric: Rubric, mode: str) -> bool:
    return bool(rubric.criteria if mode == "pointwise" else rubric.checklist)
