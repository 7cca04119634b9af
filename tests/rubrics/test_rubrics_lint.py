from pathlib import Path

import pytest

from jurist.core.rubric import ChecklistItem, Criterion, Rubric, save_rubric
from jurist.rubrics.lint import Finding, lint_file, lint_rubric
from jurist.rubrics.wording import polarity_signals, valence

GOOD_SCALE = {
    1: "The response is completely irrelevant to the question.",
    2: "Mostly irrelevant, with only minor relevant parts.",
    3: "Partially relevant but includes unrelated content.",
    4: "Mostly relevant with minor digressions.",
    5: "Fully relevant and focused on the question.",
}


def crit(cid: str, question: str, scale: dict[int, str] | None = None, weight: float = 1.0):
    return Criterion(id=cid, question=question, scale=scale or GOOD_SCALE, weight=weight)


def check(cid: str, text: str, weight: float = 1.0):
    return ChecklistItem(id=cid, text=text, weight=weight)


def rubric(*criteria: Criterion, checklist: tuple[ChecklistItem, ...] = ()) -> Rubric:
    return Rubric(name="t", criteria=list(criteria), checklist=list(checklist))


def rules(findings: list[Finding], target: str | None = None) -> set[str]:
    return {f.rule for f in findings if target is None or f.target == target}


def test_clean_rubric_has_no_findings():
    clean = rubric(
        crit("relevance", "Is the response relevant to the question?"),
        checklist=(
            check("units", "The response gives the dose in milligrams"),
            check("unsafe", "The response recommends a dose above the daily maximum", -2),
        ),
    )
    assert lint_rubric(clean, has_reference=False, has_history=False) == []


def test_duplicate_question_is_an_error_naming_both():
    findings = lint_rubric(
        rubric(crit("a", "Is the response accurate?"), crit("b", "Is the answer accurate?"))
    )
    [finding] = [f for f in findings if f.rule == "duplicate"]
    assert (finding.severity, finding.target) == ("error", "b")
    assert "'a'" in finding.message and "'b'" in finding.suggestion


def test_distinct_questions_are_not_duplicates():
    findings = lint_rubric(
        rubric(crit("a", "Is the response accurate?"), crit("b", "Is the response concise?"))
    )
    assert not rules(findings) & {"duplicate", "overlap"}


def test_near_duplicate_question_is_an_overlap_warning():
    findings = lint_rubric(
        rubric(
            crit("a", "Does the response cite reliable sources for its claims?"),
            crit("b", "Does the response cite reliable sources?"),
        )
    )
    [finding] = [f for f in findings if f.rule == "overlap"]
    assert (finding.severity, finding.target) == ("warning", "b")


def test_overlap_threshold_is_configurable():
    pair = rubric(
        crit("a", "Does the response cite reliable sources for its claims?"),
        crit("b", "Does the response cite reliable sources?"),
    )
    assert "overlap" not in rules(lint_rubric(pair, overlap_threshold=0.9))


def test_overlap_across_criterion_and_checklist():
    findings = lint_rubric(
        rubric(
            crit("accuracy", "Is the response factually accurate?"),
            checklist=(check("acc", "The response is factually accurate"),),
        )
    )
    assert "duplicate" in rules(findings, "acc")


def test_repeated_descriptor_is_an_error():
    scale = {1: "Bad.", 2: "bad", 3: "Good: every step is right."}
    findings = lint_rubric(rubric(crit("a", "Is it right?", scale)))
    [finding] = [f for f in findings if f.rule == "repeated-descriptor"]
    assert finding.severity == "error" and "1 and 2" in finding.message


def test_distinct_descriptors_are_not_repeated():
    assert "repeated-descriptor" not in rules(lint_rubric(rubric(crit("a", "Is it relevant?"))))


def test_number_only_descriptors_are_an_error():
    findings = lint_rubric(rubric(crit("a", "Is it relevant?", {1: "1", 2: "Score 2", 3: "3/3"})))
    [finding] = [f for f in findings if f.rule == "no-descriptors"]
    assert finding.severity == "error"


def test_some_number_only_descriptors_are_a_warning():
    scale = {1: "1", 2: "Some relevant content.", 3: "Fully relevant throughout."}
    findings = lint_rubric(rubric(crit("a", "Is it relevant?", scale)))
    [finding] = [f for f in findings if f.rule == "bare-descriptor"]
    assert finding.severity == "warning" and "[1]" in finding.message


def test_one_word_descriptors_are_vague():
    findings = lint_rubric(rubric(crit("a", "Is it relevant?", {1: "Poor", 2: "Fair", 3: "Good"})))
    assert rules(findings) == {"vague-descriptors"}


def test_described_scale_is_not_vague():
    assert "vague-descriptors" not in rules(lint_rubric(rubric(crit("a", "Is it relevant?"))))


def test_reversed_scale_is_flagged():
    scale = {
        1: "No errors at all.",
        2: "A few minor errors.",
        3: "Several errors.",
        4: "Many serious errors.",
    }
    findings = lint_rubric(rubric(crit("errors", "How many errors does it make?", scale)))
    [finding] = [f for f in findings if f.rule == "reversed-scale"]
    assert finding.severity == "warning" and "higher scores describe worse" in finding.message


def test_no_at_the_bottom_of_a_virtue_scale_is_not_reversed():
    scale = {
        1: "No relevant information.",
        2: "Little relevant information.",
        3: "Some relevant information with gaps.",
        4: "Fully relevant and complete.",
    }
    findings = lint_rubric(rubric(crit("relevance", "Is the information relevant?", scale)))
    assert not rules(findings) & {"reversed-scale", "non-monotonic"}


def test_descriptor_out_of_order_is_non_monotonic():
    scale = {
        1: "Poor answer with errors.",
        2: "Excellent and flawless.",
        3: "Fair, with some gaps.",
        4: "Good, with minor gaps.",
        5: "Excellent, complete and precise.",
    }
    findings = lint_rubric(rubric(crit("quality", "How good is the answer?", scale)))
    [finding] = [f for f in findings if f.rule == "non-monotonic"]
    assert "2 -> 3" in finding.message


def test_open_checklist_questions_are_errors():
    items = (
        check("how", "How clear is the explanation?"),
        check("describe", "Describe the tone of the response."),
        check("rate", "Rate the answer on a scale of 1 to 5."),
        check("ok", "The response states the boiling point of water"),
        check("yesno", "Does the response mention the deadline?"),
    )
    findings = lint_rubric(rubric(checklist=items))
    flagged = {f.target for f in findings if f.rule == "not-yes-no"}
    assert flagged == {"how", "describe", "rate"}
    assert all(f.severity == "error" for f in findings if f.rule == "not-yes-no")


def test_negative_weight_on_a_virtue_is_flagged():
    items = (
        check("good", "The response is accurate and helpful", -1),
        check("base", "Has a title"),
    )
    findings = lint_rubric(rubric(checklist=items))
    [finding] = [f for f in findings if f.rule == "weight-sign"]
    assert finding.target == "good" and "virtue" in finding.message


def test_positive_weight_on_a_fault_is_flagged():
    findings = lint_rubric(
        rubric(checklist=(check("errs", "The response contains factual errors"),))
    )
    [finding] = [f for f in findings if f.rule == "weight-sign"]
    assert finding.target == "errs" and "fault" in finding.message


def test_weight_signs_that_match_the_wording_pass():
    items = (
        check("errs", "The response contains factual errors", -1),
        check("safe", "The response avoids unsafe advice", 1),
        check("cites", "The response never fails to cite its sources", 1),
    )
    assert "weight-sign" not in rules(lint_rubric(rubric(checklist=items)))


def test_all_zero_weights_is_an_error():
    findings = lint_rubric(
        rubric(crit("a", "Is it relevant?", weight=0), crit("b", "Is it polite?", weight=0))
    )
    assert [f.rule for f in findings if f.severity == "error"] == ["zero-weights"]
    assert "zero-weight" not in rules(findings)


def test_single_zero_weight_is_a_warning():
    findings = lint_rubric(
        rubric(crit("a", "Is it relevant?"), crit("b", "Is it polite?", weight=0))
    )
    assert rules(findings) == {"zero-weight"}
    assert findings[0].target == "b" and findings[0].severity == "warning"


def test_reference_needed_but_not_given():
    needs = rubric(crit("match", "Does the response agree with the reference answer?"))
    [finding] = lint_rubric(needs, has_reference=False)
    assert (finding.rule, finding.severity, finding.target) == ("needs-reference", "error", "match")
    assert lint_rubric(needs, has_reference=True) == []
    assert lint_rubric(needs) == []  # unknown: no finding


def test_ground_truth_in_a_descriptor_counts():
    scale = dict(GOOD_SCALE)
    scale[5] = "Fully relevant and matches the ground truth."
    findings = lint_rubric(rubric(crit("a", "Is it relevant?", scale)), has_reference=False)
    assert "needs-reference" in rules(findings)


def test_conversation_history_needs_multi_turn_input():
    needs = rubric(crit("consistent", "Is it consistent with the conversation history?"))
    assert "needs-history" in rules(lint_rubric(needs, has_history=False))
    assert "needs-history" not in rules(lint_rubric(needs, has_history=True))


def test_context_the_judge_never_sees_is_a_warning():
    unseen = rubric(crit("sys", "Does the response follow the system prompt?"))
    [finding] = lint_rubric(unseen)
    assert (finding.rule, finding.severity) == ("unseen-context", "warning")
    seen = rubric(crit("sys", "Does the response follow the user's instructions?"))
    assert lint_rubric(seen) == []


def test_errors_come_first_and_lint_is_deterministic():
    messy = rubric(
        crit("a", "Is it relevant?", {1: "Poor", 2: "Fair", 3: "Good"}),
        crit("b", "Is it relevant?"),
    )
    first = lint_rubric(messy)
    assert first == lint_rubric(messy)
    severities = [f.severity for f in first]
    assert severities == sorted(severities, key=lambda s: s != "error")
    assert all(f.suggestion for f in first)


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("No errors", 1),
        ("Many errors", -1),
        ("Free of hallucinations", 1),
        ("Not accurate", -1),
        ("Flawless", 1),
        ("Harmless", 1),
        ("Contains no errors and is accurate", 1),
        ("None of the claims are accurate", -1),
    ],
)
def test_polarity_handles_negation(text: str, sign: int):
    value = valence(text)
    assert value is not None and value * sign > 0, polarity_signals(text)


def test_lint_file_reports_validation_errors_as_findings(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text(
        "name: broken\ncriteria:\n  - id: clarity\n    question: Is it clear?\n"
        "    scale: {1: Unclear, 2: Clear}\n    range: [1, 3]\n",
        encoding="utf-8",
    )
    [finding] = lint_file(path)
    assert (finding.severity, finding.rule, finding.target) == ("error", "invalid", "clarity")
    assert "descriptor missing for score 3" in finding.message
    assert "descriptor" in finding.suggestion


def test_lint_file_checklist_without_positive_weight(tmp_path: Path):
    path = tmp_path / "negative.yaml"
    path.write_text(
        "name: n\nchecklist:\n  - id: bad\n    text: The response is rude\n    weight: -1\n",
        encoding="utf-8",
    )
    [finding] = lint_file(path)
    assert finding.rule == "invalid" and "positive weight" in finding.suggestion


def test_lint_file_invalid_yaml(tmp_path: Path):
    path = tmp_path / "syntax.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    [finding] = lint_file(path)
    assert finding.rule == "invalid" and "invalid YAML" in finding.message


def test_lint_file_on_a_valid_file_lints_it(tmp_path: Path):
    path = tmp_path / "ok.yaml"
    save_rubric(rubric(crit("a", "Is it relevant?"), crit("b", "Is it relevant?")), path)
    assert rules(lint_file(path)) == {"duplicate"}
