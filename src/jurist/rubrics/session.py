"""What a rubric command works on: items from a data file or a preset, a judge whose calls
are cached in the store, and the files it writes. Failures come back as `jurist.errors`
classes, so a caller needs no knowledge of which reader, backend or file refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from jurist.backends import make_backend, parse_judge_spec
from jurist.data import FieldMap, Item, read_items
from jurist.errors import ConfigError, StorageError
from jurist.prompts import transcript
from jurist.rubrics.pipeline import Mode, RubricPipeline, ScoreOptions
from jurist.runner import RetryPolicy, RunOptions
from jurist.store import Store


@dataclass(frozen=True)
class ItemSource:
    """A data file read with a field map, or a built-in benchmark; `limit` keeps the first N."""

    data: Path | None = None
    preset: str | None = None
    fields: FieldMap = field(default_factory=FieldMap)
    limit: int | None = None

    def load(self) -> list[Item]:
        if self.preset is not None:
            from jurist.datasets import load_preset

            try:
                return list(load_preset(self.preset, limit=self.limit))
            except FileNotFoundError as error:
                raise ConfigError(str(error)) from None
        if self.data is None:
            raise ConfigError("give DATA (a JSONL, CSV or Parquet file) or --preset NAME")
        items: list[Item] = []
        for item in read_items(self.data, self.fields):
            if self.limit is not None and len(items) >= self.limit:
                break
            items.append(item)
        return items

    @property
    def label(self) -> str | None:
        """The column holding the human preference; a preset's loader files it itself."""
        return self.fields.labels[0] if self.preset is None and self.fields.labels else None

    def describe(self) -> dict[str, str | None]:
        """Where the items came from, as reports record it."""
        return {"data": str(self.data) if self.data else None, "preset": self.preset}


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
