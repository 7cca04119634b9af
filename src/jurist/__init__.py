"""jurist: grade LLM outputs with LLM judges against explicit rubrics."""

from jurist.backends import make_backend
from jurist.completion import Completion, Request
from jurist.data import DataError, FieldMap, Item, Message, read_items
from jurist.grading import GradeConfig, GradeResult, run_grade
from jurist.judgment import Judgment
from jurist.rubric import ChecklistItem, Criterion, Rubric, RubricError, load_rubric, save_rubric
from jurist.store import Store

__all__ = [
    "ChecklistItem",
    "Completion",
    "Criterion",
    "DataError",
    "FieldMap",
    "GradeConfig",
    "GradeResult",
    "Item",
    "Judgment",
    "Message",
    "Request",
    "Rubric",
    "RubricError",
    "Store",
    "load_rubric",
    "make_backend",
    "read_items",
    "run_grade",
    "save_rubric",
]
