import pytest

from jurist.core.answers import parse_joint_decisions, parse_joint_scores
from jurist.core.parse import ParseError, parse_decision, parse_score, parse_verdict

POINTS = [1, 2, 3, 4, 5]


def test_json_score_and_rationale():
    parsed = parse_score('{"rationale": "clear and correct", "score": 4}', POINTS)
    assert parsed.value == 4 and parsed.rationale == "clear and correct"


def test_json_inside_prose_and_fences():
    text = 'Here is my grade:\n```json\n{"rationale": "ok", "score": "3"}\n```\nThanks'
    assert parse_score(text, POINTS).value == 3


def test_output_that_quotes_the_template_is_not_a_score():
    # The judge echoes the instruction line; the placeholder is not JSON and holds no answer.
    echoed = 'Answer with a JSON object only: {"rationale": "<one or two sentences>", "score": <an integer from 1 to 5>}'
    with pytest.raises(ParseError):
        parse_score(echoed, POINTS)
    # Echoing the scale's descriptor lines must not turn "5: Very helpful" into a score.
    with pytest.raises(ParseError):
        parse_score("Scale:\n1: Unhelpful\n5: Very helpful - complete", POINTS)


def test_echo_then_answer_takes_the_answer():
    text = (
        'Answer with: {"rationale": "<...>", "score": <1-5>}\n'
        '{"rationale": "the real one", "score": 2}'
    )
    assert parse_score(text, POINTS).value == 2


def test_out_of_range_and_non_integer_are_errors_not_clamped():
    with pytest.raises(ParseError, match=r"not an integer in 1\.\.5"):
        parse_score('{"rationale": "x", "score": 9}', POINTS)
    with pytest.raises(ParseError):
        parse_score('{"rationale": "x", "score": 3.5}', POINTS)
    with pytest.raises(ParseError, match="outside the scale"):
        parse_score("I think it is fine.\nScore: 7", POINTS)


def test_fallback_only_on_the_final_line():
    assert parse_score("Reasoning here.\nScore: 4", POINTS).value == 4
    assert parse_score("Reasoning.\n**Final score:** 5/5", POINTS).value == 5
    with pytest.raises(ParseError):
        parse_score("Score: 4\nbut actually I am unsure", POINTS)


def test_boolean_is_not_a_score():
    with pytest.raises(ParseError):
        parse_score('{"rationale": "x", "score": true}', POINTS)


def test_joint_scores_partial():
    text = '{"a": {"rationale": "r", "score": 2}, "b": {"rationale": "r", "score": 8}}'
    results = parse_joint_scores(text, {"a": POINTS, "b": POINTS, "c": POINTS})
    assert results["a"].value == 2
    assert isinstance(results["b"], ParseError) and isinstance(results["c"], ParseError)


def test_verdicts():
    assert parse_verdict('{"rationale": "x", "verdict": "B"}').value == "B"
    assert parse_verdict('{"rationale": "x", "verdict": "Tie"}').value == "tie"
    assert parse_verdict("A is longer.\nVerdict: [[A]]").value == "A"
    with pytest.raises(ParseError):
        parse_verdict('{"verdict": "C"}')
    with pytest.raises(ParseError):
        parse_verdict('Reply with {"verdict": "A", "B" or "tie"}')


def test_decisions():
    assert parse_decision('{"justification": "j", "answer": "Yes"}').value == "yes"
    assert parse_decision('{"answer": false}').value == "no"
    assert parse_decision("It does.\nAnswer: yes").value == "yes"
    with pytest.raises(ParseError):
        parse_decision('{"answer": "maybe"}')
    joint = parse_joint_decisions('{"x": {"answer": "no"}, "y": {"answer": "?"}}', ["x", "y"])
    assert joint["x"].value == "no" and isinstance(joint["y"], ParseError)


def test_raw_newline_inside_a_json_string_is_tolerated():
    parsed = parse_score('{"rationale": "first line\nsecond line", "score": 2}', POINTS)
    assert parsed.value == 2 and parsed.rationale == "first line\nsecond line"
