"""The judged assertions in process: checklist and pairwise cases, the failure messages,
bars that name nothing, and `@cases` over a data file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from judge_script import scripted_judge

from jurist.core.errors import ConfigError
from jurist.core.rubric import rubric_from_dict
from jurist.session import JudgeSetup
from jurist.testing import JuristJudge, assert_judged, assert_preferred, assert_rate, cases
from jurist.testing.record import ITEMS_FILE, RUBRIC_FILE
from scripted_server import ScriptedServer

QUESTION = "What is the capital of Australia?"
GOOD, BAD = "It is Canberra.", "It is Sydney."
CHECKLIST = rubric_from_dict(
    {
        "name": "capital_checklist",
        "checklist": [
            {"id": "names_canberra", "text": "Does it name the right city?", "kind": "required"},
            {"id": "is_short", "text": "Is it one sentence?", "kind": "optional"},
        ],
    }
)
LIKERT = rubric_from_dict(
    {
        "name": "capital",
        "criteria": [
            {"id": "accuracy", "question": "Is it right?", "range": [1, 5],
             "scale": {1: "wrong", 2: "poor", 3: "fair", 4: "good", 5: "right"}},
        ],
    }
)  # fmt: skip


@pytest.fixture
def judge(tmp_path):
    with ScriptedServer(scripted_judge) as server:
        judging = JuristJudge(
            JudgeSetup(judge=f"openai:{server.url}#m"), store=tmp_path / "store.sqlite"
        )
        yield judging
        judging.close()


def test_checklist_required_items_pass_or_fail_with_their_justification(judge):
    assert_judged(GOOD, rubric=CHECKLIST, input=QUESTION, judge=judge)
    with pytest.raises(AssertionError) as failed:
        assert_judged(BAD, rubric=CHECKLIST, input=QUESTION, judge=judge)
    message = str(failed.value)
    assert "names_canberra (required): no" in message
    assert "justification: Checked the city." in message
    assert "required checklist items: not met: names_canberra" in message
    # without the requirement the same answer passes
    assert_judged(BAD, rubric=CHECKLIST, input=QUESTION, required_checklist=False, judge=judge)
    assert judge.record.outcomes("checklist") == [True, False]


def test_assert_preferred_judges_both_orders(judge):
    case = assert_preferred(GOOD, BAD, rubric=LIKERT, input=QUESTION, judge=judge)
    assert case.judgments[0].pair.consistent is True
    with pytest.raises(AssertionError) as failed:
        assert_preferred(BAD, GOOD, rubric=LIKERT, input=QUESTION, judge=judge)
    assert "verdict: B (A-B order: B, B-A order: B); required: A preferred" in str(failed.value)
    assert judge.record.outcomes("preferred") == [True, False]


def test_a_bar_naming_no_criterion_is_refused_before_any_call(judge):
    with pytest.raises(ConfigError, match=r"at_least names \['acuracy'\]"):
        assert_judged(GOOD, rubric=LIKERT, at_least={"acuracy": 4}, judge=judge)
    assert judge.store is None  # nothing was built, nothing was asked


def test_rates_count_by_group_and_a_rate_without_cases_says_so(judge):
    for answer in (GOOD, GOOD, BAD):
        judge.check(answer, rubric=LIKERT, input=QUESTION, at_least={"accuracy": 4}, group="g")
    judge.check(GOOD, rubric=LIKERT, input=QUESTION, at_least={"accuracy": 4}, group="other")
    assert judge.record.outcomes("accuracy", "g") == [True, True, False]
    with pytest.raises(AssertionError, match="inconclusive: n too small"):
        assert_rate("accuracy", at_least=0.5, group="g", judge=judge)
    with pytest.raises(AssertionError, match="no judged case has a bar for it"):
        assert_rate("clarity", at_least=0.5, judge=judge)
    # the second case of one test gets its own id
    ids = [entry.item.id for entry in judge.record.entries]
    assert ids[:2] == ["case", "case#2"]


def test_report_writes_one_run_folder_per_rubric_and_mode(judge, tmp_path):
    judge.check(GOOD, rubric=LIKERT, input=QUESTION, at_least={"accuracy": 4})
    judge.compare(GOOD, BAD, rubric=LIKERT, input=QUESTION)
    folders = judge.write_report(tmp_path / "report")
    assert sorted(f.name for f in folders) == ["capital-pairwise", "capital-pointwise"]
    for folder in folders:
        assert {RUBRIC_FILE, ITEMS_FILE, "results.jsonl", "summary.json", "run.json"} <= {
            p.name for p in folder.iterdir()
        }
        run_id = json.loads((folder / "run.json").read_text())["run_id"]
        assert judge.store.run_status(run_id) == "finished"


ROWS = [{"id": "a", "input": "Q1", "reference": "R1"}, {"id": "b", "input": "Q2"}]
DATA = Path(__file__).with_name("cases_rows.jsonl")


def test_cases_parametrizes_over_rows_relative_to_the_test_module(tmp_path):
    DATA.write_text("".join(json.dumps(row) + "\n" for row in ROWS), encoding="utf-8")
    try:
        mark = cases("cases_rows.jsonl", id="id")
        unnamed = cases(DATA, limit=1, argname="row")
    finally:
        DATA.unlink()
    items = mark.mark.args[1]
    assert mark.mark.args[0] == "case" and [i.id for i in items] == ["a", "b"]
    assert items[0].reference == "R1" and items[1].reference is None
    assert mark.mark.kwargs["ids"] == ["a", "b"]
    assert unnamed.mark.args[0] == "row" and [i.id for i in unnamed.mark.args[1]] == ["1"]
