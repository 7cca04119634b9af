"""The viewer's pages and annotation API over HTTP on 127.0.0.1 (no browser)."""

from __future__ import annotations

import json

import httpx
import pytest
from view_runs import make_checklist_run

pytestmark = pytest.mark.integration
TOKEN = "t0ken-for-tests"


def test_checklist_items_are_annotated_yes_or_no(serve_viewer, tmp_path):
    run = make_checklist_run(tmp_path / "c", tmp_path / "store.sqlite", "20260101-000000-cccccc")
    server = serve_viewer([run.folder], run.store, cache_dir=tmp_path / "cache")
    client = httpx.Client(base_url=server.url, headers={"X-Jurist-Token": TOKEN}, timeout=60)
    page = client.get(f"/run/{run.run_id}/item/1").text
    assert 'data-field="cites"' in page and 'data-key="y"' in page and 'data-key="n"' in page
    assert "Does the answer cite a source?" in page
    assert "a link is given" in page

    def post(field, value, annotator="dana"):
        body = {
            "run": run.run_id,
            "item_id": "c1",
            "annotator": annotator,
            "field": field,
            "value": value,
        }
        return client.post("/api/annotations", json=body)

    assert post("cites", "maybe").status_code == 400
    assert post("nonsense", "yes").status_code == 400
    assert post("cites", "yes", annotator=" ").status_code == 400
    assert post("cites", "yes").json() == {"ok": True}
    assert post("unsafe", "no").json() == {"ok": True}
    (line,) = client.get(f"/run/{run.run_id}/annotations.jsonl").text.splitlines()
    record = json.loads(line)
    assert record["cites"] == "yes" and record["unsafe"] == "no"
    assert record["checklist"] == 1.0
    unknown = client.post(
        "/api/annotations",
        json={
            "run": run.run_id,
            "item_id": "zz",
            "annotator": "d",
            "field": "cites",
            "value": "yes",
        },
    )
    assert unknown.status_code == 400


def test_unknown_pages_are_404_and_escaped(view_run, serve_viewer, tmp_path):
    server = serve_viewer([view_run.folder], view_run.store, cache_dir=tmp_path / "cache")
    client = httpx.Client(base_url=server.url, headers={"X-Jurist-Token": TOKEN}, timeout=60)
    missing = client.get("/run/<script>x</script>")
    assert missing.status_code == 404
    assert "<script>x" not in missing.text
    assert client.get(f"/run/{view_run.run_id}/item/999").status_code == 404
    odd = client.get(
        f"/run/{view_run.run_id}", params={"score_min": "abc", "sort": "nope", "offset": "-5"}
    )
    assert odd.status_code == 200


def test_a_listwise_run_shows_its_ranking(serve_viewer, tmp_path):
    from judgment_builders import judgment, write_results

    ranked = [
        judgment(
            f"l{i}",
            i,
            mode="listwise",
            n_responses=3,
            ranking=[2, 0, 1],
            orders=[
                {
                    "status": "ok",
                    "shown": [0, 1, 2],
                    "ranking": [2, 0, 1],
                    "raw": "<img src=x onerror=alert(1)>",
                }
            ],
        )
        for i in range(3)
    ]
    results = write_results(tmp_path / "results.jsonl", ranked)
    server = serve_viewer([results], tmp_path / "store.sqlite", cache_dir=tmp_path / "cache")
    client = httpx.Client(base_url=server.url, headers={"X-Jurist-Token": TOKEN}, timeout=60)
    run = client.get("/").text
    key = run.split('href="/run/')[1].split('"')[0]
    page = client.get(f"/run/{key}/item/1").text
    assert "2 &gt; 0 &gt; 1" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "item texts not shown" in client.get(f"/run/{key}").text
