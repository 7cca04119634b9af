"""Pair curation on synthetic judgments: who is chosen, who is rejected, and when no pair
is made."""

from __future__ import annotations

import pytest

from jurist.core.data import Item
from jurist.train.pairs import Candidate, Choice, Unit, curate, curate_units


def cands(*values: float | str) -> list[Candidate]:
    return [
        Candidate(v, f'{{"rationale": "r{i}", "value": "{v}"}}', f"r{i}", i)
        for i, v in enumerate(values)
    ]


def unit(values: tuple[float | str, ...], label: float | str | None, errors: int = 0) -> Unit:
    item = Item(id=f"i{len(values)}{label}", input="x", response="y", metadata={"doc_id": "d1"})
    return Unit(item, "fluency", "PROMPT", tuple(cands(*values)), label, errors)


def test_chosen_equals_label_and_rejected_is_furthest() -> None:
    choice = curate(cands(3, 5, 1, 4), 4)
    assert choice is not None
    assert (choice.chosen.value, choice.rejected.value, choice.margin) == (4, 1, 3)


def test_all_samples_equal_give_no_pair() -> None:
    assert curate(cands(3, 3, 3), 3) is None
    assert curate(cands(2, 2), 5) is None


def test_all_wrong_takes_the_nearest_as_chosen() -> None:
    choice = curate(cands(1, 2, 1), 4.6667)
    assert choice is not None
    assert choice.chosen.value == 2 and choice.rejected.value == 1
    assert choice.margin == pytest.approx(1.0)


def test_ties_take_the_first_sample_on_each_side() -> None:
    choice = curate(cands(2, 4, 4, 2), 3)
    assert choice is None  # every sample is one point away: nothing to prefer
    choice = curate(cands(5, 3, 3, 1, 5), 3)
    assert choice is not None
    assert (choice.chosen.seed, choice.rejected.seed) == (1, 0)  # first of each tie


def test_missing_label_gives_no_pair_without_meta_judging() -> None:
    assert curate(cands(1, 5), None) is None
    report = curate_units([unit((1, 5), None)]).report
    assert (report.pairs, report.no_label) == (0, 1)


def test_meta_judging_fills_in_for_missing_labels() -> None:
    units = [unit((1, 5), None), unit((2, 4), 4)]
    first = units[0].candidates
    pairs = curate_units(
        units, meta_choices={0: Choice(first[1], first[0], 4.0)}, group_by="doc_id"
    )
    assert [p.source for p in pairs.pairs] == ["meta-judge", "label"]
    assert pairs.pairs[0].chosen_value == 5 and pairs.pairs[0].group == "d1"
    assert pairs.report.from_meta_judge == 1 and pairs.report.from_labels == 1


@pytest.mark.parametrize(
    ("values", "label", "chosen", "rejected"),
    [
        (("A", "B", "tie"), "A", "A", "B"),
        (("B", "tie", "A"), "B", "B", "A"),
        (("A", "tie", "B"), "tie", "tie", "A"),  # A and B are equally far: the first wins
        (("tie", "A", "A"), "A", "A", "tie"),
    ],
)
def test_pairwise_labels_with_ties(
    values: tuple[str, ...], label: str, chosen: str, rejected: str
) -> None:
    choice = curate(cands(*values), label)
    assert choice is not None
    assert (choice.chosen.value, choice.rejected.value) == (chosen, rejected)


def test_pairwise_all_ties_against_a_tie_label_give_no_pair() -> None:
    assert curate(cands("tie", "tie"), "tie") is None
    with pytest.raises(ValueError, match="unknown verdict"):
        curate(cands("A", "C"), "A")


def test_yield_report_counts_and_margins() -> None:
    units = [
        unit((1, 5, 3), 5),
        unit((3, 3), 3),
        unit((4,), 4, errors=2),
        unit((2, 4), 2),
    ]
    pair_set = curate_units(units, min_margin=1.0)
    report = pair_set.report
    assert report.pairs == 2 and report.all_equal == 1 and report.too_few_parsed == 1
    assert report.parse_errors == 2 and report.samples == 2 + 3 + 2 + 3
    assert report.margins == {"4": 1, "2": 1}
    assert all(p.chosen.endswith("<end_of_turn>") for p in pair_set.pairs)
    assert "pairs: 2" in report.render()
    strict = curate_units(units, min_margin=3.0).report
    assert strict.pairs == 1
