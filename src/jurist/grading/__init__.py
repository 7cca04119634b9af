"""A grading job end to end: items in, judge run, results streamed out, summary built.

`grade` is the job in memory (`memory.py`); `run_grade` / `grade_job` the same job with a
run folder, resumable (`job.py`); `GradeConfig` says what the job is (`config.py`).

Modules here are public unless their name starts with `_`; a `_name`, module or symbol, is
never imported from outside this package (tests included).
"""

from jurist.grading.config import (
    FLAT_NAMES,
    RESUME_HONOURED,
    RESUME_REFUSED,
    EnginePart,
    GradeConfig,
    JuryPart,
    make_config,
)
from jurist.grading.job import (
    GradeResult,
    JobControl,
    Terminated,
    grade_job,
    register_profile_reader,
    resume_config,
    run_grade,
)
from jurist.grading.memory import GradeRun, agrade, grade, item_judge

__all__ = [
    "FLAT_NAMES",
    "RESUME_HONOURED",
    "RESUME_REFUSED",
    "EnginePart",
    "GradeConfig",
    "GradeResult",
    "GradeRun",
    "JobControl",
    "JuryPart",
    "Terminated",
    "agrade",
    "grade",
    "grade_job",
    "item_judge",
    "make_config",
    "register_profile_reader",
    "resume_config",
    "run_grade",
]
