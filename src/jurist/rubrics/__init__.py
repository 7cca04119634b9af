"""Rubric authoring: lint, generate, retrieve and refine rubrics.

Nothing here imports torch: the embedding model loads on first use of `embed`.

Modules here are public unless their name starts with `_`; a `_name`, module or symbol, is
never imported from outside this package (tests included).
"""

from jurist.datasets import ItemSource
from jurist.rubrics.answers import GenerationResult
from jurist.rubrics.batch import (
    GenerateReport,
    GenerateSettings,
    ItemOutcome,
    SummaryOutcome,
    generate_rubrics,
)
from jurist.rubrics.contrastive import ContrastiveResult, generate_contrastive, preference_label
from jurist.rubrics.embeddings import EmbeddingsUnavailable, embed
from jurist.rubrics.generate import generate_instance_rubric
from jurist.rubrics.lint import Finding, lint_file, lint_rubric
from jurist.rubrics.pipeline import (
    PairScores,
    ResponseScore,
    RubricPipeline,
)
from jurist.rubrics.refine import (
    Alignment,
    LowVariance,
    Redundant,
    RefineReport,
    apply_refinement,
    decompose_criterion,
    low_variance_criteria,
    misaligned_criteria,
    pair_sides,
    plan_pruning,
    preference_scores,
    redundant_by_scores,
    redundant_by_text,
    refine_rubric,
)
from jurist.rubrics.refine_run import RefineRun, RefineSettings, refine_with_data
from jurist.rubrics.retrieve import Retrieved, RubricIndex, build_index, load_index
from jurist.rubrics.session import JudgeSettings
from jurist.rubrics.summarise import summarise_rubrics
from jurist.rubrics.weighting import correlation_aware_weights

__all__ = [
    "Alignment",
    "ContrastiveResult",
    "EmbeddingsUnavailable",
    "Finding",
    "GenerateReport",
    "GenerateSettings",
    "GenerationResult",
    "ItemOutcome",
    "ItemSource",
    "JudgeSettings",
    "LowVariance",
    "PairScores",
    "Redundant",
    "RefineReport",
    "RefineRun",
    "RefineSettings",
    "ResponseScore",
    "Retrieved",
    "RubricIndex",
    "RubricPipeline",
    "SummaryOutcome",
    "apply_refinement",
    "build_index",
    "correlation_aware_weights",
    "decompose_criterion",
    "embed",
    "generate_contrastive",
    "generate_instance_rubric",
    "generate_rubrics",
    "lint_file",
    "lint_rubric",
    "load_index",
    "low_variance_criteria",
    "misaligned_criteria",
    "pair_sides",
    "plan_pruning",
    "preference_label",
    "preference_scores",
    "redundant_by_scores",
    "redundant_by_text",
    "refine_rubric",
    "refine_with_data",
    "summarise_rubrics",
]
