"""A jury through `jurist grade`: two real OpenAI-style loopback servers as jurors, each
cached apart, weighed by `jurist meta` reports on their own earlier runs."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jurist.cli import app
from jurist.core.errors import ConfigError, InputError
from jurist.grading import grade_job
from jurist.jury import jury_spec, load_jury, load_weights
from scripted_server import ScriptedServer

RUBRIC_YAML = """
name: r
criteria:
  - id: q
    question: Is it good?
    scale: {1: bad, 2: poor, 3: fair, 4: good, 5: great}
"""


def answer(score: int) -> str:
    return json.dumps({"rationale": "fine", "score": score})


@pytest.fixture
def files(tmp_path) -> tuple[Path, Path]:
    rubric = tmp_path / "r.yaml"
    rubric.write_text(RUBRIC_YAML, encoding="utf-8")
    data = tmp_path / "d.jsonl"
    rows = [
        {"id": f"i{k}", "input": f"q{k}", "response": f"a{k}", "human": k + 1} for k in range(4)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return rubric, data


def by_item(score_of):
    """A server answering each item (recognised by its response text) with its own score."""
    return lambda prompt, n: (
        "ok",
        answer(next(s for k, s in score_of.items() if f"a{k}" in prompt)),
    )


def lines(path: Path) -> list[dict]:
    """Result lines in item order (they are written as items finish)."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return sorted(rows, key=lambda row: row["index"])


def test_two_jurors_grade_every_item_once_and_keep_their_scores(tmp_path, files):
    rubric, data = files
    store = tmp_path / "s.sqlite"
    good = {0: 1, 1: 2, 2: 3, 3: 4}  # follows the human labels
    noisy = {0: 5, 1: 1, 2: 5, 3: 1}
    with ScriptedServer(by_item(good)) as one, ScriptedServer(by_item(noisy)) as two:
        judges = [f"openai:{one.url}#m", f"openai:{two.url}#m"]
        args = ["grade", str(rubric), str(data), "--label-field", "human", "--store", str(store)]
        args += ["--no-progress", "--rationale", "after"]
        result = CliRunner().invoke(
            app, [*args, "-o", str(tmp_path / "jury"), "--judge", judges[0], "--judge", judges[1]]
        )
        assert result.exit_code == 0, result.output
        assert "inter-juror α" in result.output and "for human review" in result.output
        assert one.total == 4 and two.total == 4
        rows = lines(tmp_path / "jury" / "results.jsonl")
        assert [r["criteria"]["q"]["score"] for r in rows] == [3.0, 1.5, 4.0, 2.5]
        names = list(rows[0]["criteria"]["q"]["jurors"])
        assert rows[1]["criteria"]["q"]["jurors"] == {names[0]: 2, names[1]: 1}
        assert [r["criteria"]["q"]["review"] for r in rows] == [True, False, True, True]
        summary = json.loads((tmp_path / "jury" / "summary.json").read_text())
        assert summary["jury"]["review_items"] == 3
        assert summary["jury"]["criteria"]["q"]["items"] == 4

        # each juror alone, then its agreement with the humans as a `jurist meta` report
        reports = []
        for number, judge in enumerate(judges):
            out = tmp_path / f"alone{number}"
            alone = CliRunner().invoke(app, [*args, "-o", str(out), "--judge", judge])
            assert alone.exit_code == 0, alone.output
            meta = CliRunner().invoke(app, ["meta", str(out), "--format", "json"])
            assert meta.exit_code == 0, meta.output
            report = tmp_path / f"meta{number}.json"
            report.write_text(meta.stdout, encoding="utf-8")
            reports.append(str(report))
        assert one.total == 4 and two.total == 4  # the jurors' calls came from the cache
        weights = [load_weights(r)["q"] for r in reports]
        assert weights[0] == pytest.approx(1.0) and weights[1] == 0.0  # rho -0.45 clips to 0

        jury_args = ["--judge", judges[0], "--judge", judges[1], "--jury-aggregate", "weighted"]
        jury_args += ["--weights", reports[0], "--weights", reports[1]]
        weighted = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "weighted"), *jury_args])
        assert weighted.exit_code == 0, weighted.output
        rows = lines(tmp_path / "weighted" / "results.jsonl")
        assert [r["criteria"]["q"]["score"] for r in rows] == [1.0, 2.0, 3.0, 4.0]


def test_jury_file_with_phrasings_sampling_and_cascade(tmp_path, files):
    rubric, data = files
    (tmp_path / "r2.yaml").write_text(RUBRIC_YAML.replace("Is it good?", "How good is it?"))
    with (
        ScriptedServer(lambda p, n: ("ok", answer(4))) as cheap,
        ScriptedServer(lambda p, n: ("ok", answer(2))) as strong,
    ):
        jury = tmp_path / "jury.yaml"
        jury.write_text(
            "aggregate: cascade\njurors:\n"
            f"  - {{name: cheap, judge: 'openai:{cheap.url}#m', samples: 3, temperature: 0.7,"
            " escalate_below: 0.9}\n"
            f"  - {{name: strong, judge: 'openai:{strong.url}#m', rubric: r2.yaml}}\n"
        )
        given = {"rubric_path": str(rubric), "data_path": str(data), "jury": str(jury)}
        given |= {"output_dir": str(tmp_path / "o"), "rationale": "after"}
        with_store = tmp_path / "s.sqlite"
        from jurist.store import Store

        with Store(with_store) as store:
            result = grade_job(given, store)
        rows = lines(Path(result.results_path))
        # the cheap juror's three samples agree (4, 4, 4): confident, never escalated
        assert [r["criteria"]["q"]["score"] for r in rows] == [4, 4, 4, 4]
        assert rows[0]["criteria"]["q"]["jurors"] == {"cheap": 4}
        assert cheap.total == 12 and strong.total == 0
        assert result.summary["jury"]["asked"] == {"cheap": 4}

        jury.write_text(
            jury.read_text()
            .replace("escalate_below: 0.9", "escalate_below: 1.0")
            .replace("samples: 3", "samples: 1")
        )
        given["output_dir"] = str(tmp_path / "o2")
        with Store(with_store) as store:
            result = grade_job(given, store)
        rows = lines(Path(result.results_path))
        # one sample has no agreement and the server gives no probabilities: escalate all
        assert [r["criteria"]["q"]["jurors"] for r in rows] == [{"cheap": 4, "strong": 2}] * 4
        assert [r["criteria"]["q"]["score"] for r in rows] == [2, 2, 2, 2]
        assert "How good is it?" in strong.bodies[0]["messages"][-1]["content"]


def test_bad_jury_files_name_the_juror_and_field(tmp_path):
    jury = tmp_path / "j.yaml"
    jury.write_text("jurors:\n  - {name: a}\n  - {name: b, samples: 0}\n")
    with pytest.raises(InputError, match=r"j.yaml: row 2, field 'samples'"):
        load_jury(jury)
    jury.write_text("jurors:\n  - {name: a}\n  - {name: b, colour: red}\n")
    with pytest.raises(InputError, match=r"row 2, field 'colour'"):
        load_jury(jury)
    jury.write_text("jurors:\n  - {name: a}\n")
    with pytest.raises(InputError, match="field 'jurors'"):
        load_jury(jury)
    jury.write_text("jurors:\n  - {name: a}\n  - {name: a}\naggregate: mean\n")
    with pytest.raises(InputError, match="two jurors are named 'a'"):
        load_jury(jury)
    jury.write_text("aggregate: vote\njurors:\n  - {name: a}\n  - {name: b}\n")
    with pytest.raises(InputError, match="field 'aggregate'"):
        load_jury(jury)


def test_bad_jury_options_are_refused_before_grading(tmp_path):
    with pytest.raises(ConfigError, match="unknown judge"):
        jury_spec(None, ["local", "nonsense:x"])
    with pytest.raises(ConfigError, match="1 reports for 2 jurors"):
        jury_spec(None, ["local", "local"], weights=["m.json"])
    with pytest.raises(ConfigError, match="--jury-aggregate"):
        jury_spec(None, ["local", "local"], aggregate="vote")
    spec = jury_spec(None, ["local", "local"])
    assert spec.names == ["local", "local#2"]
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps({"command": "audit"}))
    with pytest.raises(InputError, match="not a `jurist meta` report"):
        load_weights(bad)
    bad.write_text(json.dumps({"command": "meta", "pairwise": {"kappa": {"value": "high"}}}))
    with pytest.raises(InputError, match=r"pairwise\.kappa"):
        load_weights(bad)
    bad.write_text(json.dumps({"command": "meta", "pairwise": {"kappa": {"value": -0.2}}}))
    assert load_weights(bad) == {"pair": 0.0}


def test_weights_alone_mean_a_weighted_jury_and_are_read_before_grading(tmp_path):
    report = tmp_path / "a.json"
    report.write_text(
        json.dumps({"command": "meta", "criteria": {"q": {"parsed": {"spearman": {"value": 0.4}}}}})
    )
    spec = jury_spec(None, ["local", "local"], weights=[str(report), str(report)])
    assert spec.aggregate == "weighted"
    with pytest.raises(InputError, match=r"missing\.json"):
        jury_spec(None, ["local", "local"], weights=[str(report), str(tmp_path / "missing.json")])
