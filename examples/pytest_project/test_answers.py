"""Judged tests: an answer graded against a rubric, a data file of cases, and a pass rate
decided on its confidence interval.

`test_bad_answer_fails` fails on purpose, to show the message a judged test fails with.
"""

from jurist.testing import assert_judged, assert_rate, cases

RUBRIC = "rubric.yaml"
QUESTION = "What is the capital of Australia?"
CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Canada": "Ottawa"}


def answer(question: str) -> str:
    """The system under test (a stand-in for a call to your model or app)."""
    country = question.rstrip("?").split()[-1]
    return f"The capital of {country} is {CAPITALS.get(country, 'unknown')}."


def test_good_answer_passes():
    assert_judged(
        "The capital of Australia is Canberra.",
        rubric=RUBRIC, input=QUESTION, reference="Canberra", at_least={"accuracy": 4},
    )  # fmt: skip


def test_bad_answer_fails():
    """Fails on purpose: the message shows the score, the judge's rationale and the bar."""
    assert_judged(
        "The capital of Australia is Sydney.",
        rubric=RUBRIC, input=QUESTION, reference="Canberra", at_least={"accuracy": 4},
    )  # fmt: skip


@cases("questions.jsonl", id="id")
def test_answers(case, jurist_judge):
    # `check` records the case without asserting: the rate below decides over all of them.
    jurist_judge.check(
        answer(case.input),
        rubric=RUBRIC, input=case.input, reference=case.reference, at_least={"accuracy": 4},
    )  # fmt: skip


def test_answers_accuracy_rate():
    # Passes when the 95% Wilson lower bound of the pass rate reaches 0.5; three cases are
    # too few to show that even when all pass, so this one says "inconclusive" (xfail).
    assert_rate("accuracy", at_least=0.5, group="test_answers")
