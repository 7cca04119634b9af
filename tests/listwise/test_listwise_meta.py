"""Listwise results in `jurist meta`: labels told apart by shape, bad labels named by line
and field, failed items excluded and counted."""

from pathlib import Path

import pytest

from jurist.core.judgment import ListwiseJudgment, OrderRanking
from jurist.meta.agreement import agreement_report
from jurist.meta.errors import MetaInputError
from jurist.meta.join import Results


def _judgment(index: int, status: str, scores, labels) -> ListwiseJudgment:
    ranking = None if scores is None else sorted(range(3), key=lambda i: -scores[i])
    orders = [OrderRanking(status=status, shown=[0, 1, 2], ranking=ranking)]
    return ListwiseJudgment(
        item_id=f"i{index}",
        index=index,
        status=status,
        judge="j",
        rubric="r",
        rubric_hash="h",
        labels=labels,
        n_responses=3,
        ranking=ranking,
        scores=scores,
        top=None if ranking is None else ranking[0],
        top_tied=None if scores is None else False,
        top_consistency=None if scores is None else 1.0,
        orders=orders,
    )


def _write(tmp_path: Path, judgments) -> Path:
    path = tmp_path / "results.jsonl"
    path.write_text("\n".join(j.model_dump_json() for j in judgments) + "\n")
    return path


def test_top1_and_kendall_exclude_failed_items(tmp_path):
    path = _write(
        tmp_path,
        [
            _judgment(0, "ok", [2.0, 1.0, 0.0], {"best": 0, "scores": [3, 2, 1]}),
            _judgment(1, "ok", [0.0, 2.0, 1.0], {"best": 2, "scores": [1, 2, 3]}),
            _judgment(2, "failed", None, {"best": 1, "scores": [1, 3, 2]}),
        ],
    )
    report = agreement_report(Results.load(path))
    listwise = report.listwise
    assert listwise is not None
    assert listwise.top1.value == pytest.approx(0.5) and listwise.top1.n_excluded == 1
    # tau(+1) and tau([0,2,1] vs [1,2,3]) = 1/3
    assert listwise.kendall.value == pytest.approx((1 + 1 / 3) / 2)
    assert listwise.slot_bias["3"].counts == [1, 1, 0]
    assert "top-1 accuracy" in str(report.body()[1])


def test_bad_label_names_line_and_field(tmp_path):
    path = _write(
        tmp_path,
        [
            _judgment(0, "ok", [2.0, 1.0, 0.0], {"best": 0}),
            _judgment(1, "ok", [2.0, 1.0, 0.0], {"best": 7}),
        ],
    )
    with pytest.raises(MetaInputError) as error:
        agreement_report(Results.load(path))
    assert "labels.best" in str(error.value) and "2" in str(error.value)
    assert "not in 0..2" in str(error.value)
