"""Judgments: what a judge concluded about one item, with honest statuses.

One Judgment is one line of results.jsonl. A score that could not be parsed is a
`parse_error` with the raw text, a call that failed is `failed` with its error, and
neither is ever replaced by a default value.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    model_serializer,
    model_validator,
)

from jurist.core.completion import gather_extras

Status = Literal["ok", "parse_error", "failed"]
Verdict = Literal["A", "B", "tie"]
VERDICTS: tuple[Verdict, ...] = ("A", "B", "tie")


def _is_none(value: object) -> bool:
    return value is None


def optional_extra() -> Any:
    """A field only some judges fill (white-box, jury): left out of results.jsonl when
    unset, so plain runs' lines stay as they were."""
    return Field(default=None, exclude_if=_is_none)


class Sample(BaseModel):
    """One model answer for one criterion / checklist item / pair order."""

    status: Status
    value: float | str | None = None  # score, 'yes'/'no', or 'A'/'B'/'tie'
    rationale: str | None = None
    raw: str | None = None
    error: str | None = None
    distribution: dict[str, float] | None = None
    cached: bool = False
    attempts: int = 1


class CriterionScore(BaseModel):
    """A Likert criterion's score: parsed, expected (from token probabilities) and, with
    several samples, their mean, median, majority and spread."""

    status: Status
    score: float | None = None
    expected: float | None = None
    distribution: dict[str, float] | None = None
    samples: list[float] = Field(default_factory=list)
    mean: float | None = None
    median: float | None = None
    majority: float | None = None
    std: float | None = None
    agreement: float | None = None
    rationale: str | None = None
    raw: str | None = None
    error: str | None = None
    # What a feature adds, by name: a white-box judge writes `layer_expected` (every layer's
    # expected score, logit lens), `layer_logprobs` (every layer's log-probabilities of the
    # scale's points, what a LAGER profile reads), `expected_lager`, `probe` (a fitted
    # head's estimate) and `hidden_key` (the cached hidden state). In results.jsonl these
    # sit beside the fixed fields, as they always have; reading a line gathers them back.
    extras: dict[str, Any] = Field(default_factory=dict)
    # A jury's criterion: each juror's score (None: it gave none), and whether the jurors
    # were split enough for a human to look (see jurist.jury).
    jurors: dict[str, float | None] | None = optional_extra()
    review: bool | None = optional_extra()

    @model_validator(mode="before")
    @classmethod
    def _gather_extras(cls, data: Any) -> Any:
        return gather_extras(cls, data)

    @model_serializer(mode="wrap")
    def _flatten_extras(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        extras = data.pop("extras", None) or {}
        return {**data, **{k: v for k, v in extras.items() if k not in data}}


class ChecklistDecision(BaseModel):
    """One checklist item: yes/no, P(yes) when known, and its weighted contribution."""

    status: Status
    answer: Literal["yes", "no"] | None = None
    p_yes: float | None = None
    weight: float
    contribution: float | None = None
    required: bool = False
    justification: str | None = None
    raw: str | None = None
    error: str | None = None


class PairVerdict(BaseModel):
    """A pairwise verdict merged from both presentation orders.

    `verdict_ab` is the verdict with the responses in their original order; `verdict_ba`
    is the swapped presentation mapped back to the original labels. When they disagree the
    pair is `consistent: false` and the merged verdict is a tie.
    """

    status: Status
    verdict: Verdict | None = None
    verdict_ab: Verdict | None = None
    verdict_ba: Verdict | None = None
    consistent: bool | None = None
    p_a: float | None = None  # P(A better) + P(tie)/2, averaged over orders, when known
    # The verdict slot's probabilities in the original order, when known: how sure the judge
    # was of `verdict_ab` (best-of-N picks the sample it was surest of).
    distribution_ab: dict[str, float] | None = None
    rationale_ab: str | None = None
    rationale_ba: str | None = None
    raw_ab: str | None = None
    raw_ba: str | None = None
    error: str | None = None
    jurors: dict[str, Verdict | None] | None = optional_extra()  # each juror's own verdict
    review: bool | None = optional_extra()  # a jury split enough for a human to look
    # A pairwise profile's reading (`grade --profile`): calibrated P(A better) + P(tie)/2,
    # the verdict its tie band gives, and the conformal set of verdicts.
    calibrated: float | None = optional_extra()
    calibrated_verdict: Verdict | None = optional_extra()
    prediction_set: list[Verdict] | None = optional_extra()


class _JudgmentBase(BaseModel):
    """What every mode's judgment of one item carries: identity, status, usage."""

    item_id: str
    index: int
    status: Status
    judge: str
    rubric: str
    rubric_hash: str
    labels: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    response_chars: int | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    calls: int = 0
    cache_hits: int = 0


class PointwiseJudgment(_JudgmentBase):
    """Likert scores per criterion and their weighted overall score."""

    mode: Literal["pointwise"] = "pointwise"
    criteria: dict[str, CriterionScore] = Field(default_factory=dict)
    overall: float | None = None
    # A profile with criterion weights replaces `overall` by its tuned combination of the
    # calibrated scores; the rubric's own weighted score stays here.
    overall_raw: float | None = optional_extra()
    raw: str | None = None  # a joint call's answer, once (its criteria keep none)


class ChecklistJudgment(_JudgmentBase):
    """Yes/no decisions per checklist item and the weighted checklist score."""

    mode: Literal["checklist"] = "checklist"
    checklist: dict[str, ChecklistDecision] = Field(default_factory=dict)
    checklist_score: float | None = None
    checklist_expected: float | None = None
    required_failed: list[str] = Field(default_factory=list)
    raw: str | None = None  # a joint call's answer, once (its items keep none)


class PairwiseJudgment(_JudgmentBase):
    """A verdict on two responses, merged from both presentation orders."""

    mode: Literal["pairwise"] = "pairwise"
    pair: PairVerdict | None = None
    response_b_chars: int | None = None


class OrderRanking(BaseModel):
    """One presentation order of a listwise judgment. `shown` lists the response indices in
    the order the judge saw them (slot 0 first); `ranking` is the judge's answer mapped back
    to response indices, best first."""

    status: Status
    shown: list[int]
    ranking: list[int] | None = None
    p_top: list[float] | None = None  # P(response i ranked first), by response index
    rationale: str | None = None
    raw: str | None = None
    error: str | None = None


class ListwiseJudgment(_JudgmentBase):
    """A ranking of several responses, aggregated over shuffled presentation orders.

    `ranking` lists response indices best first; `scores` are what it was sorted by (Borda
    points per order, or Bradley-Terry log-strengths); `top_consistency` is the share of
    orders whose own top pick is the aggregated one.
    """

    mode: Literal["listwise"] = "listwise"
    aggregate: Literal["borda", "bt"] = "borda"
    n_responses: int = 0
    ranking: list[int] | None = None
    scores: list[float] | None = None
    top: int | None = None
    top_tied: bool | None = None
    top_consistency: float | None = None
    p_top: list[float] | None = None  # mean over orders, when every order gave probabilities
    orders: list[OrderRanking] = Field(default_factory=list)
    responses_chars: list[int] = Field(default_factory=list)


Judgment = Annotated[
    PointwiseJudgment | ChecklistJudgment | PairwiseJudgment | ListwiseJudgment,
    Field(discriminator="mode"),
]
"""Everything the judge said about one item; one line of results.jsonl. The `mode` field
decides which fields exist, so a pairwise verdict and criterion scores never share a record."""

JUDGMENT_TYPES = (PointwiseJudgment, ChecklistJudgment, PairwiseJudgment, ListwiseJudgment)
_ADAPTER: TypeAdapter[Judgment] = TypeAdapter(Judgment)


def make_judgment(**fields: Any) -> Judgment:
    """A judgment of the class its `mode` names (pointwise when none is given)."""
    fields.setdefault("mode", "pointwise")
    return _ADAPTER.validate_python(fields)


def judgment_from_json(text: str | bytes) -> Judgment:
    return _ADAPTER.validate_json(text)


def judgment_from_dict(record: dict[str, Any]) -> Judgment:
    return _ADAPTER.validate_python(record)


def combined_status(statuses: list[Status]) -> Status:
    """An item is failed if any part failed, else parse_error if any part was unparseable."""
    if "failed" in statuses:
        return "failed"
    if "parse_error" in statuses:
        return "parse_error"
    return "ok"
