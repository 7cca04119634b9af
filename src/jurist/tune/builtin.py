"""Built-in profiles: the embedded judge's best measured reading, shipped with the package.

`jurist grade` with the default judge and no `--profile` uses `builtin:local` unless an
option given on the command line changes the reading it was measured under (then the raw
judge answers, as with `--profile none`). It was fitted by `python bench/tune.py
--builtin` on SummEval's training documents only; its held-out figures come from other
documents. On the SummEval rubric each criterion has its own map; on any other rubric every
criterion gets the `general` map, fitted on scores scaled to [0, 1] and pooled over
SummEval's four criteria, whose held-out figures were measured on a criterion left out of
its fit (what a new criterion can expect).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from jurist.core.errors import ConfigError
from jurist.grading.config import register_profile_resolver
from jurist.stats.arrays import FloatArray, factorize
from jurist.tune.calibration import fit_calibration
from jurist.tune.candidates import CalibrationKind, Estimator
from jurist.tune.conformal import fit_conformal
from jurist.tune.cv import group_folds
from jurist.tune.profile import CriterionProfile, Profile, load_profile

__all__ = [
    "BUILTIN",
    "PROFILES_DIR",
    "builtin_names",
    "fit_general",
    "read_profile",
    "resolve_profile",
    "scaled",
]

BUILTIN = "builtin:"
PROFILES_DIR = Path(__file__).with_name("profiles")
# The judge (as `JudgeSetup.label` names it) -> the profile a plain `grade` uses with it.
DEFAULTS = {"local": f"{BUILTIN}local"}


def builtin_names() -> list[str]:
    return sorted(f"{BUILTIN}{path.stem}" for path in PROFILES_DIR.glob("*.yaml"))


def read_profile(spec: str) -> Profile:
    """A profile from a file, or a built-in one by its `builtin:NAME`."""
    if not spec.startswith(BUILTIN):
        return load_profile(spec).model_copy(update={"name": spec})
    path = PROFILES_DIR / f"{spec.removeprefix(BUILTIN)}.yaml"
    if not path.is_file():
        known = ", ".join(builtin_names()) or "none"
        raise ConfigError(f"--profile {spec}: no such built-in profile (built in: {known})")
    return load_profile(path).model_copy(update={"name": spec})


def resolve_profile(profile: str | None, flat: Mapping[str, Any]) -> str | None:
    """The profile a new job from command-line options uses: the one given (refused when
    an option given beside it changes its reading), else the judge's built-in one where
    it applies and no given option changes its reading, else none."""
    if profile == "none":
        return profile
    if profile is not None:
        clash = _clashes(read_profile(profile), flat)
        if clash:
            raise ConfigError(
                f"--profile {profile} was measured with another reading than "
                f"{', '.join(clash)}: drop those options or grade with --profile none"
            )
        return profile
    if flat.get("jury") or flat.get("jurors") or (flat.get("mode") or "pointwise") != "pointwise":
        return None
    name = DEFAULTS.get(str(flat.get("judge") or "local"))
    if name is None or not (PROFILES_DIR / f"{name.removeprefix(BUILTIN)}.yaml").is_file():
        return None
    return None if _clashes(read_profile(name), flat) else name


def _clashes(profile: Profile, flat: Mapping[str, Any]) -> list[str]:
    return [
        f"--{key.replace('_', '-')} {flat[key]}"
        for key, value in profile.reading().items()
        if flat.get(key) is not None and flat[key] != value
    ]


def scaled(values: FloatArray, bounds: tuple[float, float]) -> FloatArray:
    low, high = bounds
    return (np.asarray(values, dtype=np.float64) - low) / (high - low)


def fit_general(
    raw: Mapping[str, FloatArray],
    labels: Mapping[str, FloatArray],
    bounds: Mapping[str, tuple[float, float]],
    groups: ArrayLike,
    *,
    estimator: Estimator,
    kind: CalibrationKind,
    coverage: float = 0.9,
    folds: int = 5,
    seed: int = 0,
) -> CriterionProfile:
    """One map for any criterion: scores and labels scaled to [0, 1] and pooled over
    `raw`'s criteria. Its conformal radius comes from residuals on criteria and groups
    both left out of the fit (the map will meet criteria it never saw, and one document
    never sits on both sides)."""
    criteria = list(raw)
    x = np.concatenate([scaled(raw[c], bounds[c]) for c in criteria])
    y = np.concatenate([scaled(labels[c], bounds[c]) for c in criteria])
    size = len(next(iter(raw.values())))
    which = np.repeat(np.arange(len(criteria)), size)
    fold_of = np.empty(size, dtype=np.intp)
    for f, test in enumerate(group_folds(factorize(groups)[0], folds, seed)):
        fold_of[test] = f
    fold = np.tile(fold_of, len(criteria))
    held = np.full(x.shape, np.nan)
    for c in range(len(criteria) if len(criteria) > 1 else 0):
        for f in np.unique(fold):
            test, train = (which == c) & (fold == f), (which != c) & (fold != f)
            fitted = fit_calibration(kind, x[train], y[train], (0.0, 1.0))
            held[test] = np.clip(fitted.apply(x[test]), 0.0, 1.0)
    return CriterionProfile(
        estimator=estimator,
        calibration=fit_calibration(kind, x, y, (0.0, 1.0)).to_dict(),
        conformal=fit_conformal(held, y, coverage, (0.0, 1.0)).to_dict(),
        bounds=(0.0, 1.0),
    )


register_profile_resolver(resolve_profile)
