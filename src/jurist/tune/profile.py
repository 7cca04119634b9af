"""A judge profile: how to ask one judge about one rubric, how to read and calibrate its
answers per criterion, and the conformal radius of each criterion's interval, with where
it all came from (`jurist tune` writes it; `jurist grade --profile` applies it).

A profile is only valid for the rubric and judge it was fitted on: `check` refuses any
other, naming what differs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jurist.core.errors import ConfigError
from jurist.core.judgment import Judgment, PairwiseJudgment, PointwiseJudgment
from jurist.core.rubric import Rubric
from jurist.judges import JudgeOptions
from jurist.session import JudgeSetup
from jurist.stats.results import Figure
from jurist.tune.agreement import Agreement
from jurist.tune.calibration import Calibration
from jurist.tune.candidates import Estimator, raw_score
from jurist.tune.conformal import Conformal
from jurist.tune.learned import check_learned, learned_score
from jurist.tune.pairwise import PairwiseChoice
from jurist.tune.weights import JuryProfile, OverallProfile

__all__ = [
    "READING_KEYS",
    "CriterionProfile",
    "Profile",
    "Provenance",
    "jurist_version",
    "load_profile",
]

FORMAT = 1
# The options that decide what a profile's maps were fitted on: asking otherwise would
# put its calibration on answers it never saw, so they are never overridden silently.
READING_KEYS = ("rationale", "layout", "joint")


def jurist_version() -> str:
    try:
        return version("jurist")
    except PackageNotFoundError:
        return "unknown"


class CriterionProfile(BaseModel):
    """One criterion: the estimator read, its calibration map and its conformal radius."""

    model_config = ConfigDict(extra="forbid")

    estimator: Estimator
    calibration: dict[str, Any]
    conformal: dict[str, Any]
    bounds: tuple[float, float] | None = None
    points: list[float] = Field(default_factory=list)  # the scale, for prediction sets
    heldout: Agreement | None = None  # the tuned procedure's outer-fold figures
    learned: dict[str, Any] | None = None  # a fitted LAGER / probe estimator and its model

    def calibration_map(self) -> Calibration:
        return Calibration.from_dict(self.calibration)

    def interval_map(self) -> Conformal:
        low, high = self.bounds if self.bounds is not None else (None, None)
        return Conformal.from_dict(self.conformal, low, high)

    def rescaled(self, low: float, high: float, points: list[float]) -> CriterionProfile:
        """This map, fitted on scores scaled to [0, 1], on a `low`..`high` scale: both
        maps are linear between knots, so scaling the knots and the radius is exact."""
        span = high - low
        cal = self.calibration_map()
        scaled = Calibration(
            cal.kind,
            tuple(low + span * v for v in cal.knots_x),
            tuple(low + span * v for v in cal.knots_y),
        )
        radius = self.conformal.get("radius")
        conformal = {**self.conformal, "radius": None if radius is None else radius * span}
        update = {"calibration": scaled.to_dict(), "conformal": conformal}
        return self.model_copy(update={**update, "bounds": (low, high), "points": points})


class Provenance(BaseModel):
    """What the profile was fitted on and how well it did out of sample."""

    model_config = ConfigDict(extra="forbid")

    jurist_version: str = Field(default_factory=jurist_version)
    created: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    rubric: str
    rubric_hash: str
    data_hash: str
    n: int
    groups: int
    group_field: str | None = None
    label_fields: dict[str, str] = Field(default_factory=dict)
    folds: int = 0
    split: str | None = None  # for a built-in profile: what it was fitted and measured on
    heldout: Agreement | None = None  # averaged over criteria
    default_heldout: Agreement | None = None
    coverage: Figure | None = None


class Profile(BaseModel):
    """The YAML file `jurist tune` writes (`format` 1).

    `scope: any` (a built-in profile) applies to every rubric: its per-criterion maps only
    to the rubric it was fitted on, and `general`, a map fitted on scores scaled to
    [0, 1] and pooled over that rubric's criteria, to every criterion of any other."""

    model_config = ConfigDict(extra="forbid")

    format: int = FORMAT
    name: str | None = None  # set when read: `builtin:NAME` or the file's path
    judge: str
    mode: str = "pointwise"
    options: dict[str, Any]
    samples: int = 1
    scope: Literal["rubric", "any"] = "rubric"
    criteria: dict[str, CriterionProfile]
    general: CriterionProfile | None = None
    pairwise: PairwiseChoice | None = None  # a pairwise profile's reading of verdicts
    overall: OverallProfile | None = None  # criterion weights of the overall score
    jury: JuryProfile | None = None  # a jury chosen over each of its judges alone
    jurors: list[Profile] = Field(default_factory=list)  # the jury's jurors' own profiles
    provenance: Provenance

    def reading(self) -> dict[str, Any]:
        """The options the maps were fitted under (`READING_KEYS` and samples)."""
        found = {k: v for k, v in self.options.items() if k in READING_KEYS}
        return {**found, "samples": self.samples}

    def setup(self, base: JudgeSetup) -> JudgeSetup:
        """`base` asked the way the profile was measured (its call policy kept). An option
        `base` sets away from the library default wins, unless it changes the reading the
        maps were fitted under: that is refused."""
        given = {**asdict(base.options), "samples": base.sampling.samples}
        default = {**asdict(JudgeOptions()), "samples": 1}
        changed = {k for k, v in given.items() if v != default.get(k)}
        clash = [f"{k} {given[k]!r}" for k, v in self.reading().items()
                 if k in changed and given[k] != v]  # fmt: skip
        if clash:
            raise ConfigError(
                f"the profile {self.name or ''} was measured with "
                + ", ".join(f"{k} {v!r}" for k, v in self.reading().items())
                + f", not {', '.join(clash)}: drop those options or grade with --profile none"
            )
        chosen = {k: v for k, v in self.options.items() if k not in changed and k in default}
        options = JudgeOptions(**{**asdict(base.options), **chosen})
        sampling = replace(base.sampling, samples=self.samples)
        return replace(base, options=options, sampling=sampling)

    def for_rubric(self, rubric: Rubric) -> Profile:
        """The profile with a map for each criterion it can calibrate on `rubric`."""
        if self.scope == "rubric" or self.provenance.rubric_hash == rubric.content_hash:
            return self
        general = self.general
        criteria = {} if general is None else {
            c.id: general.rescaled(float(c.bounds[0]), float(c.bounds[1]),
                                   [float(p) for p in c.points])
            for c in rubric.criteria
        }  # fmt: skip
        return self.model_copy(update={"criteria": criteria})

    def check(self, rubric: Rubric, setup: JudgeSetup) -> None:
        """Refuse a rubric or judge the profile was not fitted on."""
        if self.jury is not None:
            raise ConfigError(self.jury.refusal())
        if setup.mode != self.mode:
            raise ConfigError(
                f"this profile was made for {self.mode} judging, not {setup.mode}: tune one "
                f"for {setup.mode} judging (jurist tune --mode {setup.mode}) or grade with "
                "--profile none"
            )
        made = self.provenance
        if self.scope == "rubric" and made.rubric_hash != rubric.content_hash:
            raise ConfigError(
                f"this profile was made for rubric {made.rubric!r} ({made.rubric_hash[:12]}), "
                f"not {rubric.name!r} ({rubric.content_hash[:12]}): tune one for this rubric "
                "(jurist tune) or grade with --profile none"
            )
        check_learned((c.learned for c in self.criteria.values()), setup.judge)
        if self.judge != setup.label:
            raise ConfigError(
                f"this profile was made for judge {self.judge!r}, not {setup.label!r}: tune "
                "one for this judge (jurist tune) or grade with --profile none"
            )

    def apply(self, judgment: Judgment) -> Judgment:
        """The judgment with each profiled criterion's calibrated score, its interval and
        (on a Likert scale) its prediction set beside the raw scores."""
        if isinstance(judgment, PairwiseJudgment) and self.pairwise is not None:
            return self.pairwise.apply(judgment)
        if not isinstance(judgment, PointwiseJudgment):
            return judgment
        criteria = dict(judgment.criteria)
        for cid, part in self.criteria.items():
            score = criteria.get(cid)
            if score is None:
                continue
            raw = (
                learned_score(part.learned, score)
                if part.learned
                else raw_score(score, part.estimator)
            )
            if math.isnan(raw):
                continue
            calibrated = float(part.calibration_map().apply(np.array([raw]))[0])
            if part.bounds is not None:  # a linear map may reach past the scale
                calibrated = min(max(calibrated, part.bounds[0]), part.bounds[1])
            conformal = part.interval_map()
            low, high = (float(v[0]) for v in conformal.interval(np.array([calibrated])))
            extras = {
                **score.extras,
                "calibrated": round(calibrated, 4),
                "interval": None
                if math.isinf(conformal.radius)
                else [round(low, 4), round(high, 4)],
            }
            if part.points:
                extras["prediction_set"] = conformal.prediction_set(calibrated, part.points)
            criteria[cid] = score.model_copy(update={"extras": extras})
        update: dict[str, Any] = {"criteria": criteria}
        if self.overall is not None:  # the tuned weights over the calibrated scores
            calibrated = {c: s.extras.get("calibrated") for c, s in criteria.items()}
            update["overall"] = self.overall.combine(calibrated)
            update["overall_raw"] = judgment.overall
        return judgment.model_copy(update=update)

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        data = self.model_dump(mode="json", exclude_none=True, exclude={"name"})
        target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return target


def load_profile(path: str | Path) -> Profile:
    """A profile from its YAML file; a file that is not one is a ConfigError."""
    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        return Profile.model_validate(data)
    except OSError as error:
        raise ConfigError(f"{source}: cannot read the profile ({error.strerror})") from None
    except (yaml.YAMLError, ValidationError) as error:
        raise ConfigError(f"{source}: not a jurist profile ({error})") from None
