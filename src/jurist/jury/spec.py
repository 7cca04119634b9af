"""A jury: who sits on it and how their scores are combined, from `--judge A --judge B` or
a YAML file.

A juror is a judge backend plus what makes its view its own: a rubric phrased differently,
a temperature, a seed, several samples. Each juror's calls carry those settings, so each
juror has its own cache entries even when two share a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from jurist.core.errors import ConfigError, InputError
from jurist.core.secrets import redact_urls

Aggregate = Literal["mean", "median", "majority", "trimmed_mean", "weighted", "cascade"]
AGGREGATES: tuple[str, ...] = get_args(Aggregate)


class Juror(BaseModel):
    """One judge on the jury. Unset settings fall back to the grading run's own."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    judge: str | None = None  # a --judge spec: local, local:PATH.gguf, openai:URL#MODEL
    rubric: str | None = None  # the same criteria, phrased another way
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    seed: int | None = None
    samples: int | None = Field(default=None, ge=1)
    rationale: Literal["before", "after", "none"] | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    weight: float | None = Field(default=None, ge=0.0)  # fixed weight for `weighted`
    weights_from: str | None = None  # a `jurist meta --format json` report on this juror
    escalate_below: float | None = Field(default=None, ge=0.0, le=1.0)  # cascade threshold
    cost: float = Field(default=1.0, gt=0.0)  # relative price of one call, for cost reports


class JurySpec(BaseModel):
    """The jurors in order (the cascade asks them in this order) and the combining rule."""

    model_config = ConfigDict(extra="forbid")

    jurors: list[Juror] = Field(min_length=2)
    aggregate: Aggregate = "mean"
    trim: float = Field(default=0.2, ge=0.0, lt=0.5)
    # Flag an item for human review when its jurors' spread (highest minus lowest) exceeds
    # this; default 1 Likert point, or ½ for verdicts (A against B, not A against tie).
    disagreement: float | None = Field(default=None, ge=0.0)

    @model_validator(mode="after")
    def _distinct_names(self) -> JurySpec:
        seen: set[str] = set()
        for juror in self.jurors:
            if juror.name in seen:
                raise ValueError(f"two jurors are named {juror.name!r}")
            seen.add(juror.name)
        return self

    @property
    def names(self) -> list[str]:
        return [juror.name for juror in self.jurors]


def load_jury(path: str | Path) -> JurySpec:
    """A jury YAML file; a bad entry is an InputError naming the juror (its row) and field.
    Relative rubric and report paths are taken from the file's folder."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(str(path), problem=f"cannot read jury file ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise InputError(str(path), problem=f"invalid YAML ({error})") from None
    if not isinstance(data, dict):
        raise InputError(str(path), problem="a jury file is a mapping with a `jurors` list")
    spec = _validated(data, str(path))
    base = path.parent
    return spec.model_copy(update={"jurors": [_relative_to(base, juror) for juror in spec.jurors]})


def _relative_to(base: Path, juror: Juror) -> Juror:
    update: dict[str, Any] = {}
    for field in ("rubric", "weights_from"):
        value = getattr(juror, field)
        if value is not None and not Path(value).is_absolute():
            update[field] = str(base / value)
    return juror.model_copy(update=update)


def _validated(data: dict[str, Any], source: str) -> JurySpec:
    try:
        return JurySpec.model_validate(data)
    except ValidationError as error:
        detail = error.errors()[0]
        loc = detail["loc"]
        if len(loc) >= 3 and loc[0] == "jurors" and isinstance(loc[1], int):
            raise InputError(source, loc[1] + 1, str(loc[2]), detail["msg"]) from None
        raise InputError(source, None, str(loc[0]) if loc else None, detail["msg"]) from None


def jury_from_judges(
    judges: list[str],
    *,
    aggregate: str = "mean",
    weights: list[str] | None = None,
    disagreement: float | None = None,
) -> JurySpec:
    """A jury from repeated `--judge` specs; `weights` are `jurist meta` reports in the same
    order. Names are the specs (credentials hidden), numbered when a spec repeats."""
    weights = weights or []
    if weights and len(weights) != len(judges):
        raise ConfigError(f"--weights: {len(weights)} reports for {len(judges)} jurors")
    if aggregate not in AGGREGATES:
        raise ConfigError(f"--jury-aggregate: use one of {', '.join(AGGREGATES)}")
    names: list[str] = []
    for spec in judges:
        name = redact_urls(spec or "local")
        count = sum(1 for n in names if n == name or n.startswith(f"{name}#"))
        names.append(f"{name}#{count + 1}" if count else name)
    jurors = [
        Juror(name=name, judge=spec, weights_from=weights[i] if weights else None)
        for i, (name, spec) in enumerate(zip(names, judges, strict=True))
    ]
    try:
        return JurySpec(jurors=jurors, aggregate=aggregate, disagreement=disagreement)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigError(f"jury: {error.errors()[0]['msg']}") from None
