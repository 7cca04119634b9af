"""What a rubric command works on: items from a data file or a preset, a judge whose calls
are cached in the store, and the files it writes. Failures come back as `jurist.core.errors`
classes, so a caller needs no knowledge of which reader, backend or file refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from jurist.backends import CallPolicy
from jurist.core.data import Item
from jurist.core.errors import ConfigError, StorageError
from jurist.prompts import transcript
from jurist.rubrics.pipeline import RubricPipeline
from jurist.session import JudgeSession, JudgeSetup


def _one_at_a_time() -> JudgeSetup:
    # A rubric command asks one question at a time unless told otherwise: its runs are
    # small, and a local model answers no faster with more requests queued.
    return JudgeSetup(calls=CallPolicy(concurrency=1))


@dataclass(frozen=True)
class JudgeSettings:
    """Which judge grades and how (`setup`: its mode, pointwise or pairwise, decides how a
    pair is judged), where its calls are cached, and whether expected scores are read."""

    setup: JudgeSetup = field(default_factory=_one_at_a_time)
    store: Path | None = None
    expected: bool = True

    @property
    def label(self) -> str:
        return self.setup.label


@asynccontextmanager
async def open_pipeline(settings: JudgeSettings) -> AsyncIterator[RubricPipeline]:
    """A pipeline over the judge and store that `settings` name, closed on the way out."""
    setup = settings.setup
    if setup.mode not in ("pointwise", "pairwise"):
        raise ConfigError(f"a rubric pipeline judges pointwise or pairwise, not {setup.mode}")
    # Token probabilities are asked for only where the backend reads them (the setup says).
    options = replace(setup.options, want_logprobs=setup.reads_logprobs)
    session = JudgeSession(setup=replace(setup, options=options), store=settings.store)
    try:
        yield RubricPipeline(session, expected=settings.expected)
    finally:
        await session.aclose()


def query_text(item: Item) -> str:
    """The item's input as one text: what a rubric is written for and retrieved by."""
    return transcript(item.input) if isinstance(item.input, list) else item.input


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Report a failed write of `path` (or of files beside it) as a StorageError."""
    try:
        yield
    except OSError as error:
        raise StorageError(f"{path}: cannot write ({error.strerror or error})") from None
