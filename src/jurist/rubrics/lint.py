"""Lint a rubric before any money is spent on a judge.

Every rule is a deterministic text heuristic (token overlap, small word lists), so the
same rubric always gets the same findings and no model is needed. Heuristics can be
wrong: findings that rest on word lists are warnings; errors are reserved for problems
that make a criterion unusable as written (two identical score points, an open question
where a yes/no is expected, context the judge will never see).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from jurist.core.rubric import (
    ChecklistItem,
    Criterion,
    Rubric,
    RubricError,
    load_rubric,
    read_rubric_data,
)
from jurist.rubrics.wording import (
    STOPWORDS,
    content_tokens,
    jaccard,
    statement_polarity,
    tokens,
    valence,
    wordset,
)

# Re-exported: the text helpers were first defined here.
__all__ = [
    "Finding",
    "LintContext",
    "content_tokens",
    "jaccard",
    "lint_file",
    "lint_rubric",
    "valence",
]

Severity = Literal["error", "warning"]


class Finding(BaseModel):
    """One problem in a rubric, on one criterion / checklist item (or the whole rubric)."""

    model_config = ConfigDict(frozen=True)

    severity: Severity
    target: str
    rule: str
    message: str
    suggestion: str

    @classmethod
    def error(cls, target: str, rule: str, message: str, suggestion: str) -> Finding:
        return cls(
            severity="error", target=target, rule=rule, message=message, suggestion=suggestion
        )

    @classmethod
    def warning(cls, target: str, rule: str, message: str, suggestion: str) -> Finding:
        return cls(
            severity="warning", target=target, rule=rule, message=message, suggestion=suggestion
        )

    def __str__(self) -> str:
        return f"{self.severity}: {self.target} [{self.rule}] {self.message} ({self.suggestion})"


# --- rules ------------------------------------------------------------------------------

OVERLAP_THRESHOLD = 0.6
_MONOTONIC_TOLERANCE = 0.5
_OPEN_STARTS = wordset(
    """how why what which who whom whose where when describe explain discuss list summarize
    summarise rate evaluate assess compare identify elaborate analyze analyse outline
    justify"""
)
_SCALE_PHRASES = re.compile(r"\b(on a scale|scale of \d|from \d+ to \d+|rate (?:it|the|how))\b")
_REFERENCE = re.compile(
    r"\b(the reference|reference (?:answer|solution|response|text|output|summary)|ground[- ]truth"
    r"|gold (?:answer|standard|label|response)|expected (?:answer|output|response)"
    r"|answer key|target (?:answer|output))\b"
)
_HISTORY = re.compile(
    r"\b(conversation history|chat history|dialog(?:ue)? history|previous (?:turns?|messages?)"
    r"|earlier (?:turns?|messages?|in the conversation)|prior (?:turns?|messages?)"
    r"|(?:previous|earlier) (?:in the )?conversation)\b"
)
_NEVER_GIVEN = re.compile(
    r"\b(system prompt|user(?:'s)? profile|user(?:'s)? preferences|image|screenshot|video"
    r"|audio|attachments?|attached (?:files?|documents?|images?)|tool (?:calls?|outputs?|results?)"
    r"|other (?:responses|candidates|models?))\b"
)
_LABEL_WORDS = wordset("score point points level rating grade rank out of")


def _parts(rubric: Rubric) -> list[Criterion | ChecklistItem]:
    return [*rubric.criteria, *rubric.checklist]


def _text_of(part: Criterion | ChecklistItem) -> str:
    return part.question if isinstance(part, Criterion) else part.text


def _all_text(part: Criterion | ChecklistItem) -> str:
    if isinstance(part, Criterion):
        return " ".join([part.question, *part.scale.values()])
    return part.text


def _duplicates(rubric: Rubric, threshold: float) -> list[Finding]:
    findings = []
    parts = _parts(rubric)
    bags = [content_tokens(_text_of(part)) for part in parts]
    for j, later in enumerate(parts):
        for i in range(j):
            earlier = parts[i]
            if bags[i] and set(bags[i]) == set(bags[j]):
                findings.append(
                    Finding.error(
                        later.id,
                        "duplicate",
                        f"asks the same thing as {earlier.id!r}",
                        f"remove {later.id!r} or merge it into {earlier.id!r}",
                    )
                )
                break
            similarity = jaccard(bags[i], bags[j])
            if similarity >= threshold:
                findings.append(
                    Finding.warning(
                        later.id,
                        "overlap",
                        f"overlaps {earlier.id!r} (word overlap {similarity:.2f}); "
                        "overlapping criteria count one quality twice",
                        f"merge it into {earlier.id!r} or reword both so each asks "
                        "about a distinct quality",
                    )
                )
                break
    return findings


def _is_bare_label(descriptor: str) -> bool:
    words = [word for word in tokens(descriptor) if not word.isdigit()]
    return all(word in _LABEL_WORDS or word in STOPWORDS for word in words)


def _descriptor_findings(criterion: Criterion) -> list[Finding]:
    findings = _repeated_descriptors(criterion)
    bare = [point for point, text in criterion.scale.items() if _is_bare_label(text)]
    if bare:
        every = len(bare) == len(criterion.scale)
        findings.append(
            Finding(
                severity="error" if every else "warning",
                target=criterion.id,
                rule="no-descriptors" if every else "bare-descriptor",
                message=(
                    "no score point has a meaningful descriptor"
                    if every
                    else f"descriptors for scores {bare} only repeat the number"
                ),
                suggestion="describe what a response at each score point looks like",
            )
        )
        return findings
    if all(len(content_tokens(text)) <= 2 for text in criterion.scale.values()):
        findings.append(
            Finding.warning(
                criterion.id,
                "vague-descriptors",
                "descriptors are one or two words, so the judge must guess what each level means",
                "describe the observable features of a response at each point",
            )
        )
    return findings + _direction_findings(criterion)


def _repeated_descriptors(criterion: Criterion) -> list[Finding]:
    findings = []
    seen: dict[tuple[str, ...], int] = {}
    for point, descriptor in criterion.scale.items():
        key = tuple(tokens(descriptor))
        if key and key in seen:
            findings.append(
                Finding.error(
                    criterion.id,
                    "repeated-descriptor",
                    f"scores {seen[key]} and {point} have the same descriptor",
                    f"say what distinguishes a {point} from a {seen[key]}",
                )
            )
        seen.setdefault(key, point)
    return findings


def _direction_findings(criterion: Criterion) -> list[Finding]:
    """Whether the descriptors get better as the score rises, read from their wording."""
    rated = [(point, valence(text)) for point, text in criterion.scale.items()]
    scored = [(point, value) for point, value in rated if value is not None]
    if len(scored) < 2:
        return []
    concordant = discordant = 0
    for i, (_, low_value) in enumerate(scored):
        for _, high_value in scored[i + 1 :]:
            if high_value > low_value + 1e-9:
                concordant += 1
            elif high_value < low_value - 1e-9:
                discordant += 1
    if discordant > concordant:
        return [
            Finding.warning(
                criterion.id,
                "reversed-scale",
                "higher scores describe worse responses "
                f"(score {scored[0][0]}: {criterion.scale[scored[0][0]]!r}; "
                f"score {scored[-1][0]}: {criterion.scale[scored[-1][0]]!r}); "
                "scores are combined as if higher were better",
                "reverse the descriptors so the top score is the best response",
            )
        ]
    drops = [
        (before[0], after[0])
        for before, after in itertools.pairwise(scored)
        if after[1] < before[1] - _MONOTONIC_TOLERANCE
    ]
    if not drops:
        return []
    pairs = ", ".join(f"{low} -> {high}" for low, high in drops)
    return [
        Finding.warning(
            criterion.id,
            "non-monotonic",
            f"descriptors get worse as the score rises at {pairs}",
            "order the descriptors from worst (lowest score) to best",
        )
    ]


def _checklist_findings(item: ChecklistItem) -> list[Finding]:
    findings = []
    words = tokens(item.text)
    if (words and words[0] in _OPEN_STARTS) or _SCALE_PHRASES.search(item.text.lower()):
        findings.append(
            Finding.error(
                item.id,
                "not-yes-no",
                "is an open question, so it has no yes/no answer",
                "rephrase it as a requirement that holds or not (e.g. 'The response "
                "states X'), or make it a Likert criterion with a scale",
            )
        )
    total = statement_polarity(item.text)
    if item.weight < 0 and total > 0:
        findings.append(
            Finding.warning(
                item.id,
                "weight-sign",
                f"reads as a virtue but has a negative weight ({item.weight:g}), "
                "so meeting it is penalised",
                "make the weight positive, or phrase the item as the fault it penalises",
            )
        )
    elif item.weight > 0 and total < 0:
        findings.append(
            Finding.warning(
                item.id,
                "weight-sign",
                f"reads as a fault but has a positive weight ({item.weight:g}), "
                "so the fault is rewarded",
                "make the weight negative, or phrase the item as the requirement it rewards",
            )
        )
    return findings


def _weight_findings(rubric: Rubric) -> list[Finding]:
    parts = _parts(rubric)
    if all(part.weight == 0 for part in parts):
        return [
            Finding.error(
                rubric.name,
                "zero-weights",
                "every weight is 0, so the combined score is undefined",
                "give the criteria that matter a positive weight",
            )
        ]
    return [
        Finding.warning(
            part.id,
            "zero-weight",
            "has weight 0, so it is judged (and paid for) but never counts",
            "remove it, or give it a weight if it matters",
        )
        for part in parts
        if part.weight == 0
    ]


def _context_findings(
    part: Criterion | ChecklistItem, has_reference: bool | None, has_history: bool | None
) -> list[Finding]:
    findings = []
    text = _all_text(part).lower()
    if has_reference is False and (match := _REFERENCE.search(text)):
        findings.append(
            Finding.error(
                part.id,
                "needs-reference",
                f"mentions {match.group(0)!r} but the judge is given no reference",
                "add a reference field to the data, or rephrase without it",
            )
        )
    if has_history is False and (match := _HISTORY.search(text)):
        findings.append(
            Finding.error(
                part.id,
                "needs-history",
                f"mentions {match.group(0)!r} but the judge sees single-turn inputs only",
                "pass multi-turn inputs, or rephrase it to the last turn",
            )
        )
    if match := _NEVER_GIVEN.search(text):
        findings.append(
            Finding.warning(
                part.id,
                "unseen-context",
                f"mentions {match.group(0)!r}, which the judge is not shown unless it is "
                "part of the input",
                "put that context into the input, or rephrase the criterion without it",
            )
        )
    return findings


def lint_rubric(
    rubric: Rubric,
    *,
    has_reference: bool | None = None,
    has_history: bool | None = None,
    overlap_threshold: float = OVERLAP_THRESHOLD,
) -> list[Finding]:
    """Findings for a rubric, errors first, then in rubric order.

    `has_reference` / `has_history`: whether the judge will see a reference answer / a
    multi-turn conversation; None means unknown and skips those rules.
    """
    findings = _weight_findings(rubric) + _duplicates(rubric, overlap_threshold)
    for part in _parts(rubric):
        if isinstance(part, Criterion):
            findings += _descriptor_findings(part)
        else:
            findings += _checklist_findings(part)
        findings += _context_findings(part, has_reference, has_history)
    order = {part.id: index for index, part in enumerate(_parts(rubric))}
    return sorted(findings, key=lambda f: (f.severity != "error", order.get(f.target, -1)))


# --- files ------------------------------------------------------------------------------

_KEY_PATH = re.compile(r"^([A-Za-z_]\w*(?:\[\d+\]|\.\w+)*): (.+)$")
_PART_PATH = re.compile(r"^(criteria|checklist)\[(\d+)\]")
_SUGGESTIONS = (
    ("descriptor missing", "write a descriptor for every score point in the range"),
    ("outside the range", "widen the range or remove the descriptor"),
    ("is empty", "write a descriptor that says what a response at that score looks like"),
    ("used twice", "give each criterion and checklist item its own id"),
    ("positive weight", "give at least one checklist item a positive weight"),
    ("at least one criterion", "add a criterion or a checklist item"),
    ("invalid yaml", "fix the YAML syntax at the line given"),
    ("cannot read", "check the path"),
    ("extra inputs", "remove the unknown key (check its spelling)"),
    ("string should match pattern", "use only letters, digits, '_', '.' and '-' in ids"),
)


def _raw_ids(path: Path) -> dict[tuple[str, int], str]:
    try:
        data: Any = read_rubric_data(path)
    except (RubricError, yaml.YAMLError):
        return {}
    ids: dict[tuple[str, int], str] = {}
    if isinstance(data, dict):
        for section in ("criteria", "checklist"):
            entries = data.get(section)
            if isinstance(entries, list):
                for index, entry in enumerate(entries):
                    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                        ids[(section, index)] = entry["id"]
    return ids


def _error_findings(path: Path, error: RubricError) -> list[Finding]:
    ids = _raw_ids(path)
    findings = []
    for line in str(error).splitlines():
        detail = line.removeprefix(f"{path}: ")
        target = str(path)
        if match := _KEY_PATH.match(detail):
            key_path = match.group(1)
            target = key_path
            if part := _PART_PATH.match(key_path):
                target = ids.get((part.group(1), int(part.group(2))), key_path)
        lowered = detail.lower()
        suggestion = next(
            (hint for needle, hint in _SUGGESTIONS if needle in lowered),
            "fix the rubric file as the message says",
        )
        findings.append(Finding.error(target, "invalid", detail, suggestion))
    return findings


@dataclass(frozen=True)
class LintContext:
    """What the judge will see besides the rubric; None (unknown) skips the rules on it."""

    has_reference: bool | None = field(
        default=None,
        metadata={"help": "Whether the judge will see a reference answer (unset: skip that rule)."},
    )
    has_history: bool | None = field(
        default=None,
        metadata={"help": "Whether the judge will see a multi-turn conversation (unset: skip)."},
    )


def lint_file(
    path: str | Path, *, has_reference: bool | None = None, has_history: bool | None = None
) -> list[Finding]:
    """Lint a rubric file; a file that does not validate comes back as 'invalid' errors."""
    path = Path(path)
    try:
        rubric = load_rubric(path)
    except RubricError as error:
        return _error_findings(path, error)
    return lint_rubric(rubric, has_reference=has_reference, has_history=has_history)
