"""Rubric authoring: lint, generate, retrieve and refine rubrics.

Nothing here imports torch: the embedding model loads on first use of `embed`.
"""

from jurist.rubrics.embeddings import EmbeddingsUnavailable, embed
from jurist.rubrics.generate import (
    ContrastiveResult,
    GenerationResult,
    generate_contrastive,
    generate_instance_rubric,
    preference_label,
    summarise_rubrics,
)
from jurist.rubrics.lint import Finding, lint_file, lint_rubric
from jurist.rubrics.pipeline import (
    CachedBackend,
    PairScores,
    ResponseScore,
    RubricPipeline,
    ScoreOptions,
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
from jurist.rubrics.retrieve import Retrieved, RubricIndex, build_index, load_index
from jurist.rubrics.weighting import correlation_aware_weights

__all__ = [
    "Alignment",
    "CachedBackend",
    "ContrastiveResult",
    "EmbeddingsUnavailable",
    "Finding",
    "GenerationResult",
    "LowVariance",
    "PairScores",
    "Redundant",
    "RefineReport",
    "ResponseScore",
    "Retrieved",
    "RubricIndex",
    "RubricPipeline",
    "ScoreOptions",
    "apply_refinement",
    "build_index",
    "correlation_aware_weights",
    "decompose_criterion",
    "embed",
    "generate_contrastive",
    "generate_instance_rubric",
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
    "summarise_rubrics",
]
