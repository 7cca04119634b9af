"""What a rubric command works on: items from a data file or a preset, a judge whose calls
are cached in the store, and the files it writes. Failures come back as `jurist.core.errors`
classes, so a caller needs no knowledge of which reader, backend or file refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from jurist.backends import make_backend, parse_judge_spec
from jurist.core.data import Item
from jurist.core.errors import StorageError
from jurist.prompts import transcript
from jurist.rubrics.pipeline import Mode, RubricPipeline, ScoreOptions
from jurist.engine.local import RetryPolicy, RunOptions
from jurist.store import Store


@dataclass(frozen=True)
class JudgeSettings:
    """Which judge grades, how pairs are decided, and how hard calls are retried."""

    judge: str | None = None
    mode: Mode = "pointwise"
    concurrency: int = 1
    timeout: float = 120.0
    max_attempts: int = 6
    api_key_env: str = "OPENAI_API_KEY"
    logprobs: bool | None = None
    store: Path | None = None

    @property
    def label(self) -> str:
        return self.judge or "local"


@asynccontextmanager
async def open_pipeline(settings: JudgeSettings) -> AsyncIterator[RubricPipeline]:
    """A pipeline over the judge and store that `settings` name, closed on the way out."""
    kind = parse_judge_spec(settings.judge).kind
    # As in `jurist grade`: token probabilities on for the embedded model, off for servers.
    logprobs = settings.logprobs if settings.logprobs is not None else kind == "local"
    with Store(settings.store) as store:
        backend = make_backend(
            settings.judge,
            api_key_env=settings.api_key_env,
            timeout=settings.timeout,
            logprobs=logprobs,
        )
        options = ScoreOptions(
            mode=settings.mode, logprobs=logprobs, concurrency=settings.concurrency
        )
        run_options = RunOptions(
            concurrency=settings.concurrency,
            timeout=settings.timeout,
            retry=RetryPolicy(max_attempts=settings.max_attempts),
        )
        pipeline = RubricPipeline(backend, store, options, run_options)
        try:
            yield pipeline
        finally:
            await pipeline.aclose()


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
