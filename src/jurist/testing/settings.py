"""The judge a test suite uses, read from `[tool.jurist]` in the project's pyproject.toml.

One table configures every judged test, so a suite's judge, store and prompt options live
with the project instead of in each test; the pytest command line may replace the judge,
the store and the report folder for one run.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from jurist.core.errors import ConfigError
from jurist.judges import JudgeOptions
from jurist.session import JudgeSetup

__all__ = ["PluginSettings", "read_settings"]

Inconclusive = Literal["fail", "xfail"]
_OWN = ("judge", "store", "report", "inconclusive", "api_key_env", "logprobs", "concurrency")
_OPTIONS = frozenset(f.name for f in fields(JudgeOptions)) - {"want_logprobs"}


@dataclass(frozen=True)
class PluginSettings:
    """What `[tool.jurist]` may set: the judge spec (None: the embedded judge), the store
    (None: the user's store, or $JURIST_STORE), a report folder, what an inconclusive
    `assert_rate` does, and prompt options (`joint`, `rationale`, `layout`, ...)."""

    judge: str | None = None
    store: Path | None = None
    report: Path | None = None
    inconclusive: Inconclusive = "fail"
    api_key_env: str | None = None
    logprobs: bool | None = None
    concurrency: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def setup(self) -> JudgeSetup:
        """The JudgeSetup every judged test shares."""
        base = JudgeSetup()
        try:
            options = JudgeOptions(**self.options, want_logprobs=self.logprobs is not False)
        except TypeError as error:
            raise ConfigError(f"[tool.jurist]: {error}") from None
        calls = base.calls
        if self.concurrency is not None:
            calls = replace(calls, concurrency=self.concurrency)
        return replace(
            base,
            judge=self.judge,
            options=options,
            calls=calls,
            api_key_env=self.api_key_env or base.api_key_env,
            logprobs=self.logprobs,
        )

    def with_changes(self, **changes: Any) -> PluginSettings:
        """These settings with the given ones (None: keep this one's)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def read_settings(root: Path) -> PluginSettings:
    """`[tool.jurist]` of `root`/pyproject.toml (defaults when there is none); relative
    paths in it are relative to `root`."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return PluginSettings()
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("jurist", {})
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from None
    unknown = set(table) - set(_OWN) - _OPTIONS
    if unknown:
        known = ", ".join(sorted({*_OWN, *_OPTIONS}))
        raise ConfigError(f"{path}: [tool.jurist] does not know {sorted(unknown)}; use {known}")
    inconclusive = table.get("inconclusive", "fail")
    if inconclusive not in ("fail", "xfail"):
        raise ConfigError(f"{path}: [tool.jurist] inconclusive is fail or xfail")
    paths = {key: root / table[key] for key in ("store", "report") if key in table}
    return PluginSettings(
        **{key: table[key] for key in _OWN if key in table and key not in paths},
        **paths,
        options={key: table[key] for key in _OPTIONS if key in table},
    )
