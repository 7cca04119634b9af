"""Meta-evaluation on results files written from real human-labelled data.

Judge values are derived from the data itself (another SummEval criterion, a noisy copy of
the Auto-J labels), so every figure is checked against scipy / sklearn / krippendorff
computed on the same items, never against a typed-in number.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from judgment_builders import judgment
from judgment_builders import write_results as _write
from jurist import meta
from jurist.core.judgment import CriterionScore, Judgment, PairVerdict

TOL = 1e-9
CRITERIA = ("coherence", "consistency", "fluency", "relevance")


# ---------------------------------------------------------------- builders


def _judgment(item_id: str, index: int, **fields: Any) -> Judgment:
    return judgment(item_id, index, rubric="summeval", **fields)


def _summeval_records(shared_data: Path, n: int) -> list[dict[str, Any]]:
    path = shared_data / "summeval" / "summeval_bartscore.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return json.loads(path.read_text(encoding="utf-8"))[:n]


def _failure_of(index: int) -> str:
    """Every 13th item fails and every 17th is unparseable, for exclusion counts."""
    if index % 13 == 5:
        return "failed"
    if index % 17 == 3:
        return "parse_error"
    return "ok"


def _summeval_judgments(records: list[dict[str, Any]], *, with_labels: bool = True):
    """Judge coherence = relevance label rounded (parsed) and as-is (expected)."""
    judgments = []
    for i, r in enumerate(records):
        status = _failure_of(i)
        rel = r["scores"]["relevance"]
        if status == "ok":
            score = CriterionScore(
                status="ok",
                score=float(round(rel)),
                expected=rel,
                distribution={str(p): 0.2 for p in range(1, 6)},
            )
        else:
            score = CriterionScore(status=status, error="boom" if status == "failed" else None)
        judgments.append(
            _judgment(
                f"{r['doc_id']}/{r['system_id']}",
                i,
                status=status,
                criteria={"coherence": score},
                labels=dict(r["scores"]) if with_labels else {},
                metadata={"doc_id": r["doc_id"], "system_id": r["system_id"]},
                response_chars=len(r["summary"]),
            )
        )
    return judgments


def _ok_arrays(records, judgments):
    ok = [j.status == "ok" for j in judgments]
    human = np.array([r["scores"]["coherence"] for r, k in zip(records, ok, strict=True) if k])
    relevance = np.array([r["scores"]["relevance"] for r, k in zip(records, ok, strict=True) if k])
    return human, np.round(relevance), relevance, int(sum(ok))


# ---------------------------------------------------------------- pointwise agreement


@pytest.fixture
def summeval_run(shared_data, tmp_path):
    records = _summeval_records(shared_data, 160)
    judgments = _summeval_judgments(records)
    path = _write(tmp_path / "results.jsonl", judgments)
    return records, judgments, path


def test_correlations_reproduce_scipy_on_the_scored_items(summeval_run):
    records, judgments, path = summeval_run
    report = meta.meta_report(meta.Results.load(path), settings=meta.Settings(n_resamples=200))
    coherence = report["criteria"]["coherence"]
    human, parsed, expected, n_ok = _ok_arrays(records, judgments)
    for kind, judge in (("parsed", parsed), ("expected", expected)):
        block = coherence[kind]
        assert block["pearson"]["value"] == pytest.approx(
            stats.pearsonr(judge, human).statistic, abs=TOL
        )
        assert block["spearman"]["value"] == pytest.approx(
            stats.spearmanr(judge, human).statistic, abs=TOL
        )
        assert block["kendall"]["value"] == pytest.approx(
            stats.kendalltau(judge, human, variant="b").statistic, abs=TOL
        )
        assert block["mae"]["value"] == pytest.approx(np.abs(judge - human).mean(), abs=TOL)
        assert block["spearman"]["n"] == n_ok
        assert block["spearman"]["low"] < block["spearman"]["value"] < block["spearman"]["high"]


def test_failed_and_unparseable_items_are_counted_and_left_out(summeval_run):
    _, judgments, path = summeval_run
    report = meta.meta_report(meta.Results.load(path), settings=meta.Settings(n_resamples=100))
    failed = sum(j.status == "failed" for j in judgments)
    unparsed = sum(j.status == "parse_error" for j in judgments)
    assert failed > 0 and unparsed > 0
    assert report["status"] == {
        "ok": 160 - failed - unparsed,
        "parse_error": unparsed,
        "failed": failed,
    }
    coherence = report["criteria"]["coherence"]
    assert coherence["status"]["failed"] == failed
    assert coherence["status"]["parse_error"] == unparsed
    assert coherence["n_scored_and_labelled"] == 160 - failed - unparsed
    # Every figure rests on the scored items only and says how many it left out.
    for key in ("pearson", "exact", "kappa", "mae"):
        assert coherence["parsed"][key]["n"] == 160 - failed - unparsed
        assert coherence["parsed"][key]["n_excluded"] == failed + unparsed


def test_kappa_and_agreement_match_sklearn_after_rounding_to_the_scale(summeval_run):
    records, judgments, path = summeval_run
    report = meta.meta_report(meta.Results.load(path), settings=meta.Settings(n_resamples=100))
    block = report["criteria"]["coherence"]["expected"]
    human, _, expected, _ = _ok_arrays(records, judgments)

    def snap(v):  # nearest point, halves up, as the report documents
        return np.clip(np.floor(v + 0.5), 1, 5).astype(int)

    h, j = snap(human), snap(expected)
    assert block["kappa"]["value"] == pytest.approx(cohen_kappa_score(j, h), abs=TOL)
    assert block["kappa_quadratic"]["value"] == pytest.approx(
        cohen_kappa_score(j, h, weights="quadratic", labels=[1, 2, 3, 4, 5]), abs=TOL
    )
    assert block["exact"]["value"] == pytest.approx(np.mean(j == h), abs=TOL)
    assert block["within_one"]["value"] == pytest.approx(np.mean(np.abs(j - h) <= 1), abs=TOL)
    assert report["criteria"]["coherence"]["scale"] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert report["criteria"]["coherence"]["scale_source"] == "judge score distributions"


def test_alpha_matches_the_krippendorff_package(summeval_run):
    records, judgments, path = summeval_run
    report = meta.meta_report(meta.Results.load(path), settings=meta.Settings(n_resamples=100))
    human, _, expected, _ = _ok_arrays(records, judgments)
    data = np.vstack([expected, human])
    for level in ("interval", "ordinal"):
        alpha = report["criteria"]["coherence"]["expected"][f"alpha_{level}"]
        want = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        assert alpha["judge_vs_annotator"][0]["value"] == pytest.approx(want, abs=1e-9)
        # One rating per item: there is no ceiling to report.
        assert alpha["among_annotators"]["value"] is None


def test_unlabelled_criteria_are_reported_without_figures(summeval_run, tmp_path):
    records, _, _ = summeval_run
    judgments = _summeval_judgments(records[:20])
    renamed = [
        j.model_copy(update={"criteria": {"clarity": j.criteria["coherence"]}}) for j in judgments
    ]
    results = meta.Results.load(_write(tmp_path / "r.jsonl", renamed))
    report = meta.meta_report(results, settings=meta.Settings(n_resamples=100))
    assert report["criteria"]["clarity"]["label_field"] is None
    assert "parsed" not in report["criteria"]["clarity"]
    mapped = meta.meta_report(
        results, mapping={"clarity": "coherence"}, settings=meta.Settings(n_resamples=100)
    )
    assert mapped["criteria"]["clarity"]["parsed"]["spearman"]["n"] > 0


def test_by_group_splits_every_item_once(summeval_run):
    _, judgments, path = summeval_run
    report = meta.meta_report(
        meta.Results.load(path), by="system_id", settings=meta.Settings(n_resamples=100)
    )
    groups = report["criteria"]["coherence"]["groups"]
    assert set(groups) == {j.metadata["system_id"] for j in judgments}
    assert sum(g["n_items"] for g in groups.values()) == len(judgments)
    assert sum(g["status"]["ok"] for g in groups.values()) == report["status"]["ok"]


def test_tidy_frame_has_one_row_per_item_and_criterion(summeval_run):
    _, judgments, path = summeval_run
    frame = meta.Results.load(path).to_frame()
    assert len(frame) == len(judgments)
    assert {"item_id", "criterion", "score", "expected", "human", "metadata.system_id"} <= set(
        frame.columns
    )
    assert frame["score"].isna().sum() == sum(j.status != "ok" for j in judgments)


# ---------------------------------------------------------------- labels files


def _annotator_ratings(records):
    """Three pseudo-annotators per item: the mean, and the mean moved by +/- one point on
    alternating items, so their mean is the SummEval mean again."""
    out = {}
    for i, r in enumerate(records):
        m = r["scores"]["coherence"]
        shift = 1.0 if i % 2 else 0.5
        out[f"{r['doc_id']}/{r['system_id']}"] = [m, m + shift, m - shift]
    return out


def test_labels_csv_with_several_rows_per_id_joins_by_id(shared_data, tmp_path):
    records = _summeval_records(shared_data, 48)
    judgments = _summeval_judgments(records, with_labels=False)
    results = _write(tmp_path / "results.jsonl", judgments)
    ratings = _annotator_ratings(records)
    labels = tmp_path / "labels.csv"
    with labels.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["doc", "rater", "coherence"])
        for item_id, values in ratings.items():
            for k, v in enumerate(values):
                writer.writerow([item_id, f"r{k}", v])
        writer.writerow(["not-in-results", "r0", 3])
    table = meta.read_labels(labels, id_field="doc", fields=["coherence"], annotator_field="rater")
    loaded = meta.Results.load(results, table)
    assert loaded.join["matched"] == 48
    assert loaded.join["label_ids_not_in_results"] == 1
    report = meta.meta_report(loaded, settings=meta.Settings(n_resamples=100))
    block = report["criteria"]["coherence"]["expected"]
    ok = [j.status == "ok" for j in judgments]
    keys = [j.item_id for j in judgments]
    mean = np.array([np.mean(ratings[k]) for k, o in zip(keys, ok, strict=True) if o])
    expected = np.array([j.criteria["coherence"].expected for j in judgments if j.status == "ok"])
    assert block["spearman"]["value"] == pytest.approx(
        stats.spearmanr(expected, mean).statistic, abs=TOL
    )
    matrix = np.array([ratings[k] for k, o in zip(keys, ok, strict=True) if o]).T
    among = block["alpha_interval"]["among_annotators"]
    assert among["value"] == pytest.approx(
        krippendorff.alpha(reliability_data=matrix, level_of_measurement="interval"), abs=1e-9
    )
    assert len(block["alpha_interval"]["judge_vs_annotator"]) == 3
    assert report["criteria"]["coherence"]["annotators"] == 3


def test_labels_jsonl_with_list_values_equals_the_csv_rows(shared_data, tmp_path):
    records = _summeval_records(shared_data, 32)
    results = _write(tmp_path / "results.jsonl", _summeval_judgments(records, with_labels=False))
    ratings = _annotator_ratings(records)
    jsonl = tmp_path / "labels.jsonl"
    jsonl.write_text(
        "".join(json.dumps({"id": k, "coherence": v}) + "\n" for k, v in ratings.items())
    )
    csv_path = tmp_path / "labels.csv"
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "coherence"])
        for k, values in ratings.items():
            writer.writerows([k, v] for v in values)
    settings = meta.Settings(n_resamples=100)
    a = meta.meta_report(meta.Results.load(results, meta.read_labels(jsonl)), settings=settings)
    b = meta.meta_report(meta.Results.load(results, meta.read_labels(csv_path)), settings=settings)
    assert a["criteria"]["coherence"]["parsed"] == b["criteria"]["coherence"]["parsed"]
    assert a["criteria"]["coherence"]["annotators"] == 3


def test_label_ids_that_match_nothing_are_an_error_naming_the_file(shared_data, tmp_path):
    records = _summeval_records(shared_data, 8)
    results = _write(tmp_path / "results.jsonl", _summeval_judgments(records, with_labels=False))
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"id": "x1", "coherence": 3}\n{"id": "x2", "coherence": 4}\n')
    with pytest.raises(meta.MetaInputError) as info:
        meta.Results.load(results, meta.read_labels(labels))
    message = str(info.value)
    assert str(labels) in message and "line 1" in message and "'id'" in message
    assert "'x1' not found" in message


def test_labels_file_errors_name_line_and_field(tmp_path):
    bad = tmp_path / "labels.jsonl"
    bad.write_text('{"id": "a", "score": 3}\n{"score": 4}\n')
    with pytest.raises(meta.MetaInputError, match=r"line 2, field 'id': missing"):
        meta.read_labels(bad)
    bad.write_text('{"id": "a", "score": 3}\n{"id": "b", "score": {"x": 1}}\n')
    with pytest.raises(meta.MetaInputError, match=r"line 2, field 'score'"):
        meta.read_labels(bad)
    bad.write_text('{"id": "a", "score": 3}\n')
    with pytest.raises(meta.MetaInputError, match=r"field 'quality': no such label field"):
        meta.read_labels(bad, fields=["quality"])


def test_results_errors_name_line_and_field(tmp_path):
    good = _judgment("a", 0, criteria={"c": CriterionScore(status="ok", score=3.0)})
    path = tmp_path / "results.jsonl"
    path.write_text(good.model_dump_json() + "\n\n{not json\n")
    with pytest.raises(meta.MetaInputError, match=r"results.jsonl line 3: not valid JSON"):
        meta.read_results(path)
    record = json.loads(good.model_dump_json())
    record["status"] = "maybe"
    path.write_text(good.model_dump_json() + "\n" + json.dumps(record) + "\n")
    with pytest.raises(meta.MetaInputError, match=r"line 2, field 'status'"):
        meta.read_results(path)
    path.write_text(good.model_dump_json() + "\n" + good.model_dump_json() + "\n")
    with pytest.raises(meta.MetaInputError, match=r"line 2, field 'item_id': duplicate"):
        meta.read_results(path)
    with pytest.raises(meta.MetaInputError, match="file not found"):
        meta.read_results(tmp_path / "missing.jsonl")


def test_non_numeric_label_for_a_score_names_the_results_line(tmp_path):
    js = [
        _judgment(
            str(i),
            i,
            criteria={"c": CriterionScore(status="ok", score=float(i % 5 + 1))},
            labels={"c": 3.0 if i != 2 else "good"},
        )
        for i in range(4)
    ]
    results = meta.Results.load(_write(tmp_path / "r.jsonl", js))
    with pytest.raises(meta.MetaInputError, match=r"line 3, field 'labels.c': label 'good'"):
        meta.meta_report(results, settings=meta.Settings(n_resamples=100))


# ---------------------------------------------------------------- pairwise


def _autoj(shared_data: Path, n: int) -> list[dict[str, Any]]:
    path = shared_data / "autoj" / "autoj_pairwise.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with path.open() as handle:
        return [json.loads(line) for _, line in zip(range(n), handle, strict=False)]


def _pair_judgments(rows: list[dict[str, Any]], seed: int = 0) -> list[Judgment]:
    """Verdicts that copy the label 70% of the time; the swapped order flips every 4th."""
    rng = np.random.default_rng(seed)
    labels = {0: "A", 1: "B", 2: "tie"}
    out = []
    for i, row in enumerate(rows):
        truth = labels[row["label"]]
        ab = truth if rng.random() < 0.7 else str(rng.choice(["A", "B", "tie"]))
        ba = ab if i % 4 else {"A": "B", "B": "A", "tie": "tie"}[ab]
        status = "failed" if i % 29 == 7 else "ok"
        pair = (
            PairVerdict(
                status="ok",
                verdict=ab if ab == ba else "tie",
                verdict_ab=ab,
                verdict_ba=ba,
                consistent=ab == ba,
            )
            if status == "ok"
            else PairVerdict(status="failed", error="timeout")
        )
        out.append(
            _judgment(
                f"autoj/{i + 1}",
                i,
                mode="pairwise",
                status=status,
                pair=pair,
                labels={"preference": truth},
                metadata={"scenario": row["scenario"]},
                response_chars=len(row["response 1"]),
                response_b_chars=len(row["response 2"]),
            )
        )
    return out


def test_pairwise_accuracy_kappa_and_consistency_by_hand(shared_data, tmp_path):
    rows = _autoj(shared_data, 120)
    judgments = _pair_judgments(rows)
    results = meta.Results.load(_write(tmp_path / "r.jsonl", judgments))
    report = meta.meta_report(results, by="scenario", settings=meta.Settings(n_resamples=200))
    pair = report["pairwise"]
    ok = [j for j in judgments if j.status == "ok"]
    verdicts = [j.pair.verdict for j in ok]
    truth = [j.labels["preference"] for j in ok]
    decisive = [(v, t) for v, t in zip(verdicts, truth, strict=True) if t != "tie"]
    assert pair["accuracy_excluding_ties"]["value"] == pytest.approx(
        np.mean([v == t for v, t in decisive]), abs=TOL
    )
    assert pair["accuracy_excluding_ties"]["n"] == len(decisive)
    half = [
        1.0 if v == t else 0.5 if "tie" in (v, t) else 0.0
        for v, t in zip(verdicts, truth, strict=True)
    ]
    assert pair["accuracy_ties_half"]["value"] == pytest.approx(np.mean(half), abs=TOL)
    assert pair["kappa"]["value"] == pytest.approx(cohen_kappa_score(verdicts, truth), abs=TOL)
    same = [j.pair.verdict_ab == j.pair.verdict_ba for j in ok]
    assert pair["position_consistency"]["value"] == pytest.approx(np.mean(same), abs=TOL)
    assert pair["status"]["failed"] == len(judgments) - len(ok)
    assert np.asarray(pair["confusion"]["counts"]).sum() == len(ok)
    groups = pair["groups"]
    assert sum(g["n_items"] for g in groups.values()) == len(judgments)
    assert set(groups) == {r["scenario"] for r in rows}


def test_pair_labels_from_a_file_take_the_majority(tmp_path):
    js = [
        _judgment(
            f"p{i}",
            i,
            mode="pairwise",
            pair=PairVerdict(status="ok", verdict="A", verdict_ab="A", verdict_ba="A"),
        )
        for i in range(4)
    ]
    results = _write(tmp_path / "r.jsonl", js)
    labels = tmp_path / "labels.jsonl"
    rows = [("p0", ["A", "a", "B"]), ("p1", ["B", "B"]), ("p2", ["A", "B"]), ("p3", ["A>B"])]
    labels.write_text("".join(json.dumps({"id": k, "winner": v}) + "\n" for k, v in rows))
    loaded = meta.Results.load(results, meta.read_labels(labels))
    data = loaded.pairs(loaded.pair_label_field())
    assert data.label.tolist() == ["A", "B", "tie", "A"]
    report = meta.meta_report(loaded, settings=meta.Settings(n_resamples=100))
    assert report["pairwise"]["accuracy_excluding_ties"]["value"] == pytest.approx(2 / 3)
    assert report["pairwise"]["accuracy_ties_half"]["value"] == pytest.approx(2.5 / 4)


# ---------------------------------------------------------------- audit


def test_pairwise_audit_by_group_matches_hand_counts(shared_data, tmp_path):
    rows = _autoj(shared_data, 120)
    judgments = _pair_judgments(rows, seed=3)
    results = meta.Results.load(_write(tmp_path / "r.jsonl", judgments))
    report = meta.audit_report(results, by="scenario", settings=meta.Settings(n_resamples=200))
    pair = report["pairwise"]
    ok = [j.pair for j in judgments if j.status == "ok"]
    first = sum(p.verdict_ab == "A" for p in ok) + sum(p.verdict_ba == "B" for p in ok)
    decisive = sum(p.verdict_ab != "tie" for p in ok) + sum(p.verdict_ba != "tie" for p in ok)
    assert pair["position"]["first_slot_rate"]["value"] == pytest.approx(first / decisive)
    assert pair["position"]["flip_rate"]["value"] == pytest.approx(
        np.mean([p.verdict_ab != p.verdict_ba for p in ok])
    )
    # Longer-preference for the judge, by hand.
    picks = []
    for j in judgments:
        if j.status != "ok" or j.pair.verdict == "tie" or j.response_chars == j.response_b_chars:
            continue
        longer = "A" if j.response_chars > j.response_b_chars else "B"
        picks.append(j.pair.verdict == longer)
    assert pair["verbosity"]["longer_preferred"]["judge"]["value"] == pytest.approx(np.mean(picks))
    assert pair["verbosity"]["preference"] == "verdict"
    assert sum(g["n_items"] for g in pair["groups"].values()) == len(judgments)


def test_pointwise_audit_scale_use_verbosity_and_self_preference(summeval_run):
    records, judgments, path = summeval_run
    results = meta.Results.load(path)
    report = meta.audit_report(
        results,
        judge_family="M1",
        model_field="system_id",
        prompt_field="doc_id",
        settings=meta.Settings(n_resamples=200),
    )
    entry = report["criteria"]["coherence"]
    ok = [j for j in judgments if j.status == "ok"]
    scores = np.array([j.criteria["coherence"].score for j in ok])
    counts = [int((scores == p).sum()) for p in range(1, 6)]
    assert entry["scale_use"]["counts"] == counts
    assert entry["scale_use"]["share_used"] == pytest.approx(np.mean(np.array(counts) > 0))
    lengths = np.array([j.response_chars for j in ok])
    assert entry["verbosity"]["parsed"]["spearman"]["value"] == pytest.approx(
        stats.spearmanr(scores, lengths).statistic, abs=TOL
    )
    assert entry["verbosity"]["parsed"]["partial"]["n"] == len(ok)
    # "M1" matches M1, M10, M11, ... by name: the family is a substring match.
    gap = entry["self_preference"]
    human = np.array(
        [
            r["scores"]["coherence"]
            for r, j in zip(records, judgments, strict=True)
            if j.status == "ok"
        ]
    )
    fam = np.array(["m1" in j.metadata["system_id"].lower() for j in ok])
    diff = scores - human
    assert gap["gap"]["value"] == pytest.approx(diff[fam].mean() - diff[~fam].mean(), abs=TOL)
    assert gap["relative_to_human"] is True


# ---------------------------------------------------------------- compare


def test_compare_means_and_paired_differences_on_summeval(shared_data, tmp_path):
    records = _summeval_records(shared_data, 16 * 12)
    judgments = _summeval_judgments(records)
    results = meta.Results.load(_write(tmp_path / "r.jsonl", judgments))
    report = meta.compare_report(
        results,
        by="system_id",
        prompt_field="doc_id",
        score="expected",
        settings=meta.Settings(n_resamples=200),
    )
    entry = report["criteria"]["coherence"]
    by_system: dict[str, dict[str, float]] = {}
    for j in judgments:
        if j.status == "ok":
            by_system.setdefault(j.metadata["system_id"], {})[j.metadata["doc_id"]] = j.criteria[
                "coherence"
            ].expected
    for system, values in by_system.items():
        assert entry["means"][system]["value"] == pytest.approx(np.mean(list(values.values())))
        assert entry["means"][system]["n"] == len(values)
    ranking = entry["ranking"]
    assert [entry["means"][m]["value"] for m in ranking] == sorted(
        (entry["means"][m]["value"] for m in ranking), reverse=True
    )
    first = entry["differences"][0]
    x, y = ranking[0], ranking[1]
    shared = sorted(set(by_system[x]) & set(by_system[y]))
    test = stats.ttest_rel([by_system[x][d] for d in shared], [by_system[y][d] for d in shared])
    assert (first["name_x"], first["name_y"]) == (x, y)
    assert first["n"] == len(shared)
    assert first["p_value"] == pytest.approx(test.pvalue, abs=1e-9)
    assert "significant at α=0.05" in first["sentence"]
    assert len(entry["differences"]) == len(ranking) - 1
    # Humans rank systems too: the system-level correlation rests on one mean per system.
    assert entry["system_level"]["spearman"]["n"] == len(ranking)


def test_compare_pairs_gives_ratings_and_win_rates(tmp_path):
    rng = np.random.default_rng(1)
    strength = {"big": 1.5, "mid": 0.0, "small": -1.0}
    js = []
    for i in range(240):
        a, b = rng.choice(list(strength), size=2, replace=False)
        p = 1 / (1 + math.exp(strength[b] - strength[a]))
        verdict = "A" if rng.random() < p else "B"
        js.append(
            _judgment(
                f"g{i}",
                i,
                mode="pairwise",
                pair=PairVerdict(
                    status="ok", verdict=verdict, verdict_ab=verdict, verdict_ba=verdict
                ),
                metadata={"model_a": str(a), "model_b": str(b)},
                response_chars=100 + 10 * i % 50,
                response_b_chars=120,
            )
        )
    results = meta.Results.load(_write(tmp_path / "r.jsonl", js))
    report = meta.compare_report(
        results, by="model", baseline="mid", settings=meta.Settings(n_resamples=200)
    )
    pair = report["pairwise"]
    assert pair["ranking"] == ["big", "mid", "small"]
    assert pair["bradley_terry"]["ratings"]["mid"]["value"] == pytest.approx(1000.0)
    wins = {m: [0.0, 0] for m in strength}
    for j in js:
        a, b = j.metadata["model_a"], j.metadata["model_b"]
        wins[a][0] += j.pair.verdict == "A"
        wins[b][0] += j.pair.verdict == "B"
        wins[a][1] += 1
        wins[b][1] += 1
    for m, (w, n) in wins.items():
        assert pair["win_rates"][m]["value"] == pytest.approx(w / n)
    assert set(pair["length_controlled"]) == {"big", "small"}
    assert any("big vs mid" in s and "significant" in s for s in pair["sentences"])


# ---------------------------------------------------------------- several annotators


def test_llmrubric_alpha_per_annotator_by_id(shared_data, tmp_path):
    """The shared LLM-Rubric copy has one rating per dialogue, from 20-odd annotators:
    alpha against each annotator is computed on that annotator's dialogues, and the
    human ceiling is honestly absent (no dialogue has two ratings)."""
    from jurist.datasets import load_llmrubric

    items = list(load_llmrubric(shared_data, limit=150))
    rng = np.random.default_rng(0)
    judgments = []
    for i, item in enumerate(items):
        ratings = [r for r in item.labels["Q0"] if r is not None]
        ok = bool(ratings) and i % 11 != 4
        # The judge: the annotator's rating, moved one point on a random third of items.
        value = (
            float(np.clip(ratings[0] + (rng.random() < 0.33) * rng.choice([-1, 1]), 1, 4))
            if ratings
            else None
        )
        judgments.append(
            _judgment(
                item.id,
                i,
                status="ok" if ok else "parse_error",
                criteria={
                    "Q0": CriterionScore(status="ok", score=value)
                    if ok
                    else CriterionScore(status="parse_error")
                },
                labels={"Q0": item.labels["Q0"]},
                metadata={"annotator_ids": item.metadata["annotator_ids"]},
            )
        )
    results = meta.Results.load(_write(tmp_path / "r.jsonl", judgments))
    data = results.criterion("Q0", "Q0")
    raters = sorted({a for item in items for a in item.metadata["annotator_ids"]})
    assert data.annotator_names == tuple(raters)
    matrix = np.full((len(raters), len(items)), np.nan)
    for i, item in enumerate(items):
        for who, r in zip(item.metadata["annotator_ids"], item.labels["Q0"], strict=True):
            if r is not None:
                matrix[raters.index(who), i] = r
    np.testing.assert_array_equal(data.annotators, matrix)
    report = meta.meta_report(results, settings=meta.Settings(n_resamples=100))
    alpha = report["criteria"]["Q0"]["parsed"]["alpha_interval"]
    assert len(alpha["judge_vs_annotator"]) == len(raters)
    assert alpha["among_annotators"]["value"] is None and alpha["among_annotators"]["n"] == 0
    checked = 0
    for k, row in enumerate(matrix):
        both = ~np.isnan(row) & ~np.isnan(data.score)
        if both.sum() < 5 or np.unique(np.r_[row[both], data.score[both]]).size < 2:
            continue
        want = krippendorff.alpha(
            reliability_data=np.vstack([data.score[both], row[both]]),
            level_of_measurement="interval",
        )
        assert alpha["judge_vs_annotator"][k]["value"] == pytest.approx(want, abs=1e-9)
        assert alpha["judge_vs_annotator"][k]["n"] == both.sum()
        checked += 1
    assert checked >= 5
    mean = np.nanmean(matrix, axis=0)
    keep = ~np.isnan(data.score) & ~np.isnan(mean)
    assert report["criteria"]["Q0"]["parsed"]["spearman"]["value"] == pytest.approx(
        stats.spearmanr(data.score[keep], mean[keep]).statistic, abs=TOL
    )
