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
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from jurist.rubric import ChecklistItem, Criterion, Rubric, RubricError, load_rubric

Severity = Literal["error", "warning"]


class Finding(BaseModel):
    """One problem in a rubric, on one criterion / checklist item (or the whole rubric)."""

    model_config = ConfigDict(frozen=True)

    severity: Severity
    target: str
    rule: str
    message: str
    suggestion: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.target} [{self.rule}] {self.message} ({self.suggestion})"


# --- text helpers -----------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Words that carry no meaning of their own in rubric questions; "response" and friends are
# in every question, so keeping them would make unrelated criteria look alike.
_STOPWORDS = _wordset(
    """a an the is are was were be been being do does did has have had it its this that these
    those of to in on for with and or as at by from how what which whether if any
    response responses answer answers output outputs assistant model reply text user
    s t i"""
)


def _tokens(text: str) -> list[str]:
    text = text.lower().replace("’", "'").replace("n't", " not")
    return _WORD.findall(text)


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def content_tokens(text: str) -> list[str]:
    """Stemmed tokens without stopwords: what two questions are compared on."""
    return [_stem(word) for word in _tokens(text) if word not in _STOPWORDS]


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    left, right = set(a), set(b)
    if not left and not right:
        return 1.0
    return len(left & right) / len(left | right)


# --- polarity lexicon -------------------------------------------------------------------
# Each entry is a word prefix. Quality words carry a level (-2 terrible .. +2 excellent);
# fault and virtue words carry -1 / +1. A negator ("no errors", "not accurate", "free of",
# "avoids") flips the next cue word in its clause, and modifiers scale it ("minor errors"
# hurt less than "many errors").

_QUALITY: dict[str, float] = {
    "terribl": -2, "awful": -2, "abysmal": -2, "unacceptabl": -2, "useless": -2,
    "worst": -2, "unusabl": -2, "nonsens": -2,
    "poor": -1, "bad": -1, "weak": -1, "inadequat": -1, "unsatisfactor": -1,
    "deficient": -1, "insufficient": -1,
    "fair": 0, "mediocr": 0, "adequat": 0, "acceptabl": 0, "average": 0, "okay": 0,
    "good": 1, "solid": 1, "competent": 1, "satisfactor": 1, "great": 1.5,
    "excellent": 2, "outstanding": 2, "exceptional": 2, "perfect": 2, "superb": 2,
    "flawless": 2, "exemplary": 2, "best": 2, "ideal": 2,
}  # fmt: skip
FAULT_WORDS: tuple[str, ...] = (
    "unsafe", "incorrect", "inaccura", "wrong", "error", "erroneous", "mistake", "hallucinat",
    "fabricat", "madeup", "offensive", "toxic", "harmful", "harm", "danger", "biased",
    "rude", "insult", "irrelevant", "unrelated", "offtopic", "contradict", "misleading",
    "mislead", "misstat", "false", "untrue", "plagiari", "leak", "violat", "ignore", "omit",
    "omission", "vague", "verbose", "rambl", "repetiti", "redundan", "typo", "unsupported",
    "unfounded", "invent", "profan", "slur", "confus", "incoheren", "inconsisten",
    "incomplete", "unclear", "unnatural", "fail", "digress", "flaw", "unhelpful", "invalid",
    "ambiguous", "unjustified", "missing", "gap", "hedg",
)  # fmt: skip
VIRTUE_WORDS: tuple[str, ...] = (
    "correct", "accura", "relevant", "relevance", "helpful", "clear", "clarity", "concise",
    "complete", "safe", "harmless", "polite", "respectful", "coherent", "consistent",
    "faithful", "grounded", "supported", "appropriate", "thorough", "precise",
    "truthful", "honest", "focused", "fluent", "natural", "cites", "useful", "valid", "right",
    "insightful", "comprehensive", "organized", "organised", "structured", "readable",
    "informative",
)  # fmt: skip
# Longest prefix first, so "flawless" is not read as "flaw" nor "harmless" as "harm".
_CUES: tuple[tuple[str, float, bool], ...] = tuple(
    sorted(
        [
            *((prefix, level / 2, True) for prefix, level in _QUALITY.items()),
            *((prefix, -1.0, False) for prefix in FAULT_WORDS),
            *((prefix, 1.0, False) for prefix in VIRTUE_WORDS),
        ],
        key=lambda cue: -len(cue[0]),
    )
)
_NEGATORS = _wordset(
    """no not never none without zero free lack lacks lacking avoid avoids avoided
    avoiding nothing neither little barely hardly rarely seldom fail fails failed
    failing"""
)
# Checked before cue words, so "completely" is a modifier and not "complete".
_MODIFIERS: dict[str, float] = {
    "few": 0.5, "minor": 0.5, "slight": 0.5, "slightly": 0.5, "small": 0.5, "occasional": 0.5,
    "some": 0.5, "partial": 0.5, "partially": 0.5, "partly": 0.5, "somewhat": 0.5,
    "mostly": 0.75, "largely": 0.75, "generally": 0.75, "mainly": 0.75, "fairly": 0.75,
    "clearly": 1.0, "many": 1.5, "major": 1.5, "serious": 1.5, "severe": 1.5,
    "numerous": 1.5, "frequent": 1.5, "significant": 1.5, "critical": 1.5, "multiple": 1.5,
    "several": 1.5, "completely": 1.5, "entirely": 1.5, "totally": 1.5, "fully": 1.5,
    "highly": 1.5, "extremely": 1.5, "always": 1.5, "every": 1.5, "all": 1.5,
}  # fmt: skip
# Clause breakers end a negation's scope: "no errors, and accurate" negates only "errors".
_CLAUSE = re.compile(r"[,.;:!?()\-–—/]+|\b(?:and|but|while|although|though|however|yet|whereas)\b")
_NEGATION_REACH = 3


def _cue(word: str) -> tuple[float, bool] | None:
    """(polarity, is a quality level) of a cue word, or None for any other word."""
    for prefix, value, is_quality in _CUES:
        if word.startswith(prefix):
            return value, is_quality
    return None


def polarity_signals(text: str) -> list[float]:
    """Signed cue strengths found in the text, after negation and modifiers."""
    text = text.lower().replace("’", "'").replace("n't", " not")
    text = text.replace("made up", "madeup").replace("off topic", "offtopic")
    signals: list[float] = []
    for clause in _CLAUSE.split(text):
        words = [word for word in _WORD.findall(clause or "") if word not in _STOPWORDS]
        negated_until = -1
        scale = 1.0
        for position, word in enumerate(words):
            if word in _MODIFIERS:
                scale = _MODIFIERS[word]
                continue
            in_scope = position <= negated_until
            cue = _cue(word)
            if cue is not None:
                value, is_quality = cue
                value *= scale
                if in_scope:
                    # "not good" is mediocre rather than bad; "not accurate" is inaccurate.
                    value = -value / 2 if is_quality else -value
                signals.append(value)
                scale = 1.0
            if word in _NEGATORS:
                # "never fails to" is a double negative; "little or nothing" is not.
                negated_until = -1 if (in_scope and cue is not None) else position + _NEGATION_REACH
    return signals


def valence(text: str) -> float | None:
    """Mean polarity of a text: > 0 reads as good, < 0 as bad, None when no cue words."""
    signals = polarity_signals(text)
    return sum(signals) / len(signals) if signals else None


# --- rules ------------------------------------------------------------------------------

OVERLAP_THRESHOLD = 0.6
_MONOTONIC_TOLERANCE = 0.5
_OPEN_STARTS = _wordset(
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
_LABEL_WORDS = _wordset("score point points level rating grade rank out of")


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
                    Finding(
                        severity="error",
                        target=later.id,
                        rule="duplicate",
                        message=f"asks the same thing as {earlier.id!r}",
                        suggestion=f"remove {later.id!r} or merge it into {earlier.id!r}",
                    )
                )
                break
            similarity = jaccard(bags[i], bags[j])
            if similarity >= threshold:
                findings.append(
                    Finding(
                        severity="warning",
                        target=later.id,
                        rule="overlap",
                        message=(
                            f"overlaps {earlier.id!r} (word overlap {similarity:.2f}); "
                            "overlapping criteria count one quality twice"
                        ),
                        suggestion=(
                            f"merge it into {earlier.id!r} or reword both so each asks "
                            "about a distinct quality"
                        ),
                    )
                )
                break
    return findings


def _is_bare_label(descriptor: str) -> bool:
    words = [word for word in _tokens(descriptor) if not word.isdigit()]
    return all(word in _LABEL_WORDS or word in _STOPWORDS for word in words)


def _descriptor_findings(criterion: Criterion) -> list[Finding]:
    findings = []
    seen: dict[tuple[str, ...], int] = {}
    for point, descriptor in criterion.scale.items():
        key = tuple(_tokens(descriptor))
        if key and key in seen:
            findings.append(
                Finding(
                    severity="error",
                    target=criterion.id,
                    rule="repeated-descriptor",
                    message=f"scores {seen[key]} and {point} have the same descriptor",
                    suggestion=f"say what distinguishes a {point} from a {seen[key]}",
                )
            )
        seen.setdefault(key, point)

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
            Finding(
                severity="warning",
                target=criterion.id,
                rule="vague-descriptors",
                message=(
                    "descriptors are one or two words, so the judge must guess what each "
                    "level means"
                ),
                suggestion="describe the observable features of a response at each point",
            )
        )

    rated = [(point, valence(text)) for point, text in criterion.scale.items()]
    scored = [(point, value) for point, value in rated if value is not None]
    if len(scored) < 2:
        return findings
    concordant = discordant = 0
    for i, (_, low_value) in enumerate(scored):
        for _, high_value in scored[i + 1 :]:
            if high_value > low_value + 1e-9:
                concordant += 1
            elif high_value < low_value - 1e-9:
                discordant += 1
    if discordant > concordant:
        findings.append(
            Finding(
                severity="warning",
                target=criterion.id,
                rule="reversed-scale",
                message=(
                    "higher scores describe worse responses "
                    f"(score {scored[0][0]}: {criterion.scale[scored[0][0]]!r}; "
                    f"score {scored[-1][0]}: {criterion.scale[scored[-1][0]]!r}); "
                    "scores are combined as if higher were better"
                ),
                suggestion="reverse the descriptors so the top score is the best response",
            )
        )
        return findings
    drops = [
        (before[0], after[0])
        for before, after in itertools.pairwise(scored)
        if after[1] < before[1] - _MONOTONIC_TOLERANCE
    ]
    if drops:
        pairs = ", ".join(f"{low} -> {high}" for low, high in drops)
        findings.append(
            Finding(
                severity="warning",
                target=criterion.id,
                rule="non-monotonic",
                message=f"descriptors get worse as the score rises at {pairs}",
                suggestion="order the descriptors from worst (lowest score) to best",
            )
        )
    return findings


def _checklist_findings(item: ChecklistItem) -> list[Finding]:
    findings = []
    words = _tokens(item.text)
    if (words and words[0] in _OPEN_STARTS) or _SCALE_PHRASES.search(item.text.lower()):
        findings.append(
            Finding(
                severity="error",
                target=item.id,
                rule="not-yes-no",
                message="is an open question, so it has no yes/no answer",
                suggestion=(
                    "rephrase it as a requirement that holds or not (e.g. 'The response "
                    "states X'), or make it a Likert criterion with a scale"
                ),
            )
        )
    total = sum(polarity_signals(item.text))
    if item.weight < 0 and total > 0:
        findings.append(
            Finding(
                severity="warning",
                target=item.id,
                rule="weight-sign",
                message=(
                    f"reads as a virtue but has a negative weight ({item.weight:g}), "
                    "so meeting it is penalised"
                ),
                suggestion="make the weight positive, or phrase the item as the fault it penalises",
            )
        )
    elif item.weight > 0 and total < 0:
        findings.append(
            Finding(
                severity="warning",
                target=item.id,
                rule="weight-sign",
                message=(
                    f"reads as a fault but has a positive weight ({item.weight:g}), "
                    "so the fault is rewarded"
                ),
                suggestion=(
                    "make the weight negative, or phrase the item as the requirement it rewards"
                ),
            )
        )
    return findings


def _weight_findings(rubric: Rubric) -> list[Finding]:
    parts = _parts(rubric)
    if all(part.weight == 0 for part in parts):
        return [
            Finding(
                severity="error",
                target=rubric.name,
                rule="zero-weights",
                message="every weight is 0, so the combined score is undefined",
                suggestion="give the criteria that matter a positive weight",
            )
        ]
    return [
        Finding(
            severity="warning",
            target=part.id,
            rule="zero-weight",
            message="has weight 0, so it is judged (and paid for) but never counts",
            suggestion="remove it, or give it a weight if it matters",
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
            Finding(
                severity="error",
                target=part.id,
                rule="needs-reference",
                message=f"mentions {match.group(0)!r} but the judge is given no reference",
                suggestion="add a reference field to the data, or rephrase without it",
            )
        )
    if has_history is False and (match := _HISTORY.search(text)):
        findings.append(
            Finding(
                severity="error",
                target=part.id,
                rule="needs-history",
                message=f"mentions {match.group(0)!r} but the judge sees single-turn inputs only",
                suggestion="pass multi-turn inputs, or rephrase it to the last turn",
            )
        )
    if match := _NEVER_GIVEN.search(text):
        findings.append(
            Finding(
                severity="warning",
                target=part.id,
                rule="unseen-context",
                message=(
                    f"mentions {match.group(0)!r}, which the judge is not shown unless it is "
                    "part of the input"
                ),
                suggestion="put that context into the input, or rephrase the criterion without it",
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
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
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
        findings.append(
            Finding(
                severity="error",
                target=target,
                rule="invalid",
                message=detail,
                suggestion=suggestion,
            )
        )
    return findings


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
