"""The pytest plugin: a session-wide judge, its command-line options and its summary.

Registered through the `pytest11` entry point (or `pytest -p jurist.testing.plugin`). It
costs nothing in a session that judges nothing: the judge's model and store are opened on
the first judged case. `[tool.jurist]` in the rootdir's pyproject.toml configures it;
`--jurist-judge`, `--jurist-store` and `--jurist-report` replace those settings for a run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jurist.core.errors import JuristError
from jurist.testing.assertions import use_judge
from jurist.testing.judge import CurrentTest, JuristJudge
from jurist.testing.settings import PluginSettings, read_settings

__all__ = ["jurist_judge"]

_JUDGE = pytest.StashKey[JuristJudge]()
_SETTINGS = pytest.StashKey[PluginSettings]()
_WRITTEN = pytest.StashKey[list[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jurist", "judging outputs with LLM judges")
    group.addoption(
        "--jurist-judge",
        metavar="SPEC",
        help="judge for judged tests: local (embedded, the default), local:PATH.gguf, "
        "openai:MODEL, openai:URL#MODEL (replaces [tool.jurist] judge)",
    )
    group.addoption(
        "--jurist-store",
        metavar="PATH",
        type=Path,
        help="SQLite store caching every judge call (default: [tool.jurist] store, "
        "$JURIST_STORE, else the user's store)",
    )
    group.addoption(
        "--jurist-report",
        metavar="DIR",
        type=Path,
        help="write the judged cases as a run folder (`jurist view DIR`, `jurist report DIR`)",
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        settings = read_settings(config.rootpath).with_changes(
            judge=config.getoption("jurist_judge"),
            store=config.getoption("jurist_store"),
            report=config.getoption("jurist_report"),
        )
        judge = JuristJudge(settings.setup(), store=settings.store)
    except JuristError as error:
        raise pytest.UsageError(f"jurist: {error}") from None
    config.stash[_SETTINGS] = settings
    config.stash[_JUDGE] = judge
    use_judge(judge, settings.inconclusive)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Name the cases a test judges after it, and group a parametrized test's cases."""
    judge = item.config.stash.get(_JUDGE, None)
    if judge is not None:
        name = getattr(item, "originalname", None) or item.name
        judge.begin(CurrentTest(item.nodeid, name, item.path.parent))


@pytest.fixture(scope="session")
def jurist_judge(request: pytest.FixtureRequest) -> JuristJudge:
    """The session's judge: `check` / `compare` record a case without asserting; the
    module-level assertions use the same judge."""
    return request.config.stash[_JUDGE]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the report folder, if asked for, once every test has run."""
    judge = session.config.stash.get(_JUDGE, None)
    report = session.config.stash[_SETTINGS].report if judge is not None else None
    if judge is not None and report is not None:
        session.config.stash[_WRITTEN] = judge.write_report(report)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Per criterion, the pass rate with its interval; the model calls the session made."""
    config = terminalreporter.config
    judge = config.stash.get(_JUDGE, None)
    if judge is None or not judge.record.entries:
        return
    terminalreporter.section("jurist")
    for line in judge.record.summary_lines():
        terminalreporter.write_line(line)
    for folder in config.stash.get(_WRITTEN, []):
        terminalreporter.write_line(f"report: {folder} (open it with `jurist view {folder}`)")


def pytest_unconfigure(config: pytest.Config) -> None:
    judge = config.stash.get(_JUDGE, None)
    if judge is not None:
        judge.close()
        use_judge(None)
