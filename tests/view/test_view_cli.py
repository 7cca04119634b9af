"""`jurist view` and `jurist report` on the command line (the server itself is replaced:
what is checked is what the command prints and refuses)."""

from __future__ import annotations

import re

from typer.testing import CliRunner

import jurist.view.server
from jurist.cli import app


def test_view_prints_a_token_url_and_warns_off_loopback(view_run, monkeypatch, tmp_path):
    served: list[tuple[str, int]] = []
    monkeypatch.setattr(
        jurist.view.server, "serve", lambda app_, host, port: served.append((host, port))
    )
    args = [str(view_run.folder), "--store", str(view_run.store), "--cache-dir", str(tmp_path)]
    local = CliRunner().invoke(app, ["view", *args])
    assert local.exit_code == 0, local.output
    assert re.search(r"http://127\.0\.0\.1:\d+/\?token=[\w-]{20,}", local.output)
    assert "warning" not in local.output
    assert served[0][0] == "127.0.0.1" and served[0][1] > 0
    wide = CliRunner().invoke(app, ["view", *args, "--host", "0.0.0.0", "--port", "8123"])
    assert wide.exit_code == 0, wide.output
    assert "warning: binding to 0.0.0.0" in wide.output
    assert served[1] == ("0.0.0.0", 8123)
    tokens = re.findall(r"token=([\w-]+)", local.output + wide.output)
    assert len(set(tokens)) == 2  # a new random token each start


def test_report_names_what_it_cannot_read(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "report",
            str(tmp_path / "nope"),
            "-o",
            str(tmp_path / "r.html"),
            "--store",
            str(tmp_path / "store.sqlite"),
        ],
    )
    assert result.exit_code != 0
    assert "nope" in result.output and "not found" in result.output
    assert not (tmp_path / "r.html").exists()


def test_annotation_api_refuses_json_true_as_a_label(view_run, tmp_path):
    """A JSON boolean is not a score: `true` must not be stored as the label 1."""
    from fastapi.testclient import TestClient

    from jurist.view.app import TOKEN_HEADER, create_app, make_viewer

    viewer = make_viewer(
        [str(view_run.folder)], view_run.store, token="t0ken", cache_dir=tmp_path / "cache"
    )
    client = TestClient(create_app(viewer), headers={TOKEN_HEADER: "t0ken"})
    key = viewer.sources[0].key

    def post(value: object) -> object:
        body = {"run": key, "item_id": "q0", "annotator": "dana", "field": "helpfulness"}
        return client.post("/api/annotations", json={**body, "value": value})

    for value in (True, False):
        refused = post(value)
        assert refused.status_code == 400, refused.text
        assert "value" in refused.json()["error"]
    assert post(1).json() == {"ok": True}
    (line,) = client.get(f"/run/{key}/annotations.jsonl").text.splitlines()
    assert '"helpfulness": 1' in line
