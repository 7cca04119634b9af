"""jurist: grade LLM outputs with LLM judges against explicit rubrics."""

from jurist.backends import (
    Backend,
    CachingBackend,
    CallPolicy,
    LimitingBackend,
    RetryingBackend,
    RetryPolicy,
    layered,
    make_backend,
    register_backend,
)
from jurist.core.answers import AnswerSpec, LikertAnswer, RankingAnswer, VerdictAnswer, YesNoAnswer
from jurist.core.completion import Completion, Request
from jurist.core.data import DataError, FieldMap, Item, Message, read_items
from jurist.core.errors import (
    BackendError,
    ConfigError,
    InputError,
    JuristError,
    RubricError,
    StorageError,
)
from jurist.core.judgment import (
    ChecklistJudgment,
    Judgment,
    ListwiseJudgment,
    PairwiseJudgment,
    PointwiseJudgment,
    judgment_from_json,
    make_judgment,
)
from jurist.core.rubric import ChecklistItem, Criterion, Rubric, load_rubric, save_rubric
from jurist.grading import GradeConfig, GradeResult, GradeRun, agrade, grade, run_grade
from jurist.judges import JudgeOptions, ListwiseOptions, make_judge, register_judge
from jurist.judges.answering import SamplingOptions
from jurist.jury import JuryPanel, JurySpec, load_jury
from jurist.ranking import Tournament, session_tournament
from jurist.rewards import RewardJudge, criterion_rewards, explicit_reward, implicit_reward
from jurist.session import ItemJudge, JudgeSession, JudgeSetup, ajudge, judge
from jurist.store import Store
from jurist.tune import Profile, load_profile

__all__ = [
    "AnswerSpec",
    "Backend",
    "BackendError",
    "CachingBackend",
    "CallPolicy",
    "ChecklistItem",
    "ChecklistJudgment",
    "Completion",
    "ConfigError",
    "Criterion",
    "DataError",
    "FieldMap",
    "GradeConfig",
    "GradeResult",
    "GradeRun",
    "InputError",
    "Item",
    "ItemJudge",
    "JudgeOptions",
    "JudgeSession",
    "JudgeSetup",
    "Judgment",
    "JuristError",
    "JuryPanel",
    "JurySpec",
    "LikertAnswer",
    "LimitingBackend",
    "ListwiseJudgment",
    "ListwiseOptions",
    "Message",
    "PairwiseJudgment",
    "PointwiseJudgment",
    "Profile",
    "RankingAnswer",
    "Request",
    "RetryPolicy",
    "RetryingBackend",
    "RewardJudge",
    "Rubric",
    "RubricError",
    "SamplingOptions",
    "StorageError",
    "Store",
    "Tournament",
    "VerdictAnswer",
    "YesNoAnswer",
    "agrade",
    "ajudge",
    "criterion_rewards",
    "explicit_reward",
    "grade",
    "implicit_reward",
    "judge",
    "judgment_from_json",
    "layered",
    "load_jury",
    "load_profile",
    "load_rubric",
    "make_backend",
    "make_judge",
    "make_judgment",
    "read_items",
    "register_backend",
    "register_judge",
    "run_grade",
    "save_rubric",
    "session_tournament",
]
