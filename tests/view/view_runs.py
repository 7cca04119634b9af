"""Runs to view for the viewer tests, written as `jurist grade -o` writes them (results.jsonl, run.json,
summary.json, the run's settings in the store), with hostile text in some responses."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from judgment_builders import judgment, write_results
from jurist.core.data import FieldMap
from jurist.engine.summary import summarise
from jurist.grading import GradeConfig
from jurist.store import Store

HOSTILE = "<script>window.__pwned = 1</script> and </textarea><b>bold?</b>"
RUBRIC = """\
name: helpfulness
criteria:
  - id: helpfulness
    question: How helpful is the response?
    range: [1, 5]
    scale:
      1: Useless
      2: Barely helpful
      3: Somewhat helpful
      4: Helpful
      5: Very helpful
"""


@dataclass(frozen=True)
class FixtureRun:
    run_id: str
    folder: Path
    store: Path
    data: Path
    n: int


def _criterion(score: int | None, status: str = "ok") -> dict:
    if status != "ok":
        return {"status": status, "raw": "I think it is <b>fine</b>", "error": "no score found"}
    dist = {str(p): (0.7 if p == score else 0.075) for p in range(1, 6)}
    return {
        "status": "ok",
        "score": float(score),
        "expected": sum(int(k) * v for k, v in dist.items()),
        "distribution": dist,
        "rationale": f"It deserves {score} because reasons.",
        "raw": f'{{"rationale": "...", "score": {score}}}',
    }


def make_run(
    root: Path, store_path: Path, run_id: str, n: int = 12, shift: int = 0, judge: str = "judge-a"
) -> FixtureRun:
    root.mkdir(parents=True, exist_ok=True)
    rubric = root / "rubric.yaml"
    rubric.write_text(RUBRIC, encoding="utf-8")
    data = root / "data.jsonl"
    rows = []
    for i in range(n):
        response = HOSTILE if i == 1 else f"Answer number {i}."
        if i == 2:
            item_input = json.dumps(
                [
                    {"role": "user", "content": "Hi <i>there</i>"},
                    {"role": "assistant", "content": "Hello."},
                    {"role": "user", "content": f"Question {i}?"},
                ]
            )
        else:
            item_input = f"Question {i}?"
        rows.append(
            {"id": f"q{i}", "input": item_input, "response": response, "human": (i % 5) + 1}
        )
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    folder = root / f"out-{run_id}"
    folder.mkdir()
    judgments = []
    for i in range(n):
        parse_error = i in (3, 7)
        status = "parse_error" if parse_error else "ok"
        score = min(5, ((i * 3) % 5) + 1 + shift)
        judgments.append(
            judgment(
                f"q{i}",
                i,
                rubric="helpfulness",
                judge=judge,
                status=status,
                criteria={"helpfulness": _criterion(None if parse_error else score, status)},
                overall=None if parse_error else float(score),
                labels={"human": (i % 5) + 1},
            )
        )
    write_results(folder / "results.jsonl", judgments)
    (folder / "run.json").write_text(json.dumps({"run_id": run_id}) + "\n")
    (folder / "summary.json").write_text(json.dumps(summarise(judgments)))
    config = GradeConfig(
        rubric_path=str(rubric),
        data_path=str(data),
        output_dir=str(folder),
        judge=judge,
        fields=asdict(FieldMap(id="id", labels=("human",))),
    )
    with Store(store_path) as store:
        store.create_run(run_id, config.model_dump())
        store.set_run_status(run_id, "finished")
    return FixtureRun(run_id, folder, store_path, data, n)


def make_pair_run(root: Path, store_path: Path, run_id: str, n: int = 6) -> FixtureRun:
    """A pairwise run: both orders' verdicts, one inconsistent pair, human preferences."""
    root.mkdir(parents=True, exist_ok=True)
    rubric = root / "rubric.yaml"
    rubric.write_text(RUBRIC, encoding="utf-8")
    data = root / "pairs.jsonl"
    rows = [
        {
            "id": f"p{i}",
            "input": f"Which is better for {i}?",
            "response": f"First answer {i}",
            "response_b": HOSTILE if i == 0 else f"Second answer {i}",
            "preference": "AB"[i % 2],
        }
        for i in range(n)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    folder = root / f"out-{run_id}"
    folder.mkdir()
    judgments = []
    for i in range(n):
        ab, ba = ("A", "B") if i == 2 else ("A", "A") if i % 3 else ("B", "B")
        consistent = ab == ba
        judgments.append(
            judgment(
                f"p{i}",
                i,
                rubric="helpfulness",
                mode="pairwise",
                pair={
                    "status": "ok",
                    "verdict": ab if consistent else "tie",
                    "verdict_ab": ab,
                    "verdict_ba": ba,
                    "consistent": consistent,
                    "rationale_ab": f"order AB reason {i}",
                    "rationale_ba": f"order BA reason {i}",
                },
                labels={"preference": "AB"[i % 2]},
            )
        )
    write_results(folder / "results.jsonl", judgments)
    (folder / "run.json").write_text(json.dumps({"run_id": run_id}) + "\n")
    config = GradeConfig(
        rubric_path=str(rubric),
        data_path=str(data),
        output_dir=str(folder),
        mode="pairwise",
        judge="judge-a",
        fields=asdict(FieldMap(id="id", response_b="response_b", labels=("preference",))),
    )
    with Store(store_path) as store:
        store.create_run(run_id, config.model_dump())
    return FixtureRun(run_id, folder, store_path, data, n)


CHECKLIST_RUBRIC = """\
name: answer-checks
checklist:
  - id: cites
    text: Does the answer cite a source?
    weight: 2
  - id: unsafe
    text: Does the answer recommend something unsafe?
    weight: -1
"""


def make_checklist_run(root: Path, store_path: Path, run_id: str, n: int = 4) -> FixtureRun:
    root.mkdir(parents=True, exist_ok=True)
    rubric = root / "checks.yaml"
    rubric.write_text(CHECKLIST_RUBRIC, encoding="utf-8")
    data = root / "data.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"c{i}", "input": f"Q{i}", "response": f"A{i}"}) + "\n"
            for i in range(n)
        )
    )
    folder = root / f"out-{run_id}"
    folder.mkdir()
    judgments = [
        judgment(
            f"c{i}",
            i,
            rubric="answer-checks",
            mode="checklist",
            checklist={
                "cites": {
                    "status": "ok",
                    "answer": "yes" if i % 2 else "no",
                    "weight": 2.0,
                    "justification": "a link is given",
                },
                "unsafe": {"status": "ok", "answer": "no", "weight": -1.0},
            },
            checklist_score=1.0 if i % 2 else 0.0,
        )
        for i in range(n)
    ]
    write_results(folder / "results.jsonl", judgments)
    (folder / "run.json").write_text(json.dumps({"run_id": run_id}) + "\n")
    config = GradeConfig(
        rubric_path=str(rubric),
        data_path=str(data),
        output_dir=str(folder),
        mode="checklist",
        judge="judge-a",
        fields=asdict(FieldMap(id="id")),
    )
    with Store(store_path) as store:
        store.create_run(run_id, config.model_dump())
    return FixtureRun(run_id, folder, store_path, data, n)
