"""How rubric text reads: content words for comparing questions, and polarity (does a
phrase describe a good or a bad response) for the lint rules on scales and weights.

Every function is a deterministic word-list heuristic, so the same text always reads the
same way and no model is needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# --- text helpers -----------------------------------------------------------------------

WORD = re.compile(r"[a-z0-9]+")


def wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Words that carry no meaning of their own in rubric questions; "response" and friends are
# in every question, so keeping them would make unrelated criteria look alike.
STOPWORDS = wordset(
    """a an the is are was were be been being do does did has have had it its this that these
    those of to in on for with and or as at by from how what which whether if any
    response responses answer answers output outputs assistant model reply text user
    s t i"""
)


def tokens(text: str) -> list[str]:
    text = text.lower().replace("’", "'").replace("n't", " not")
    return WORD.findall(text)


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
    return [_stem(word) for word in tokens(text) if word not in STOPWORDS]


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
    "fabricat", "madeup", "offensive", "toxic", "harmful", "harm", "danger", "bias",
    "rude", "insult", "irrelevant", "unrelated", "offtopic", "contradict", "misleading",
    "mislead", "misstat", "false", "untrue", "plagiari", "leak", "violat", "ignore", "omit",
    "omission", "vague", "verbose", "rambl", "repetiti", "redundan", "typo", "unsupported",
    "unfounded", "invent", "profan", "slur", "confus", "incoheren", "inconsisten",
    "incomplete", "unclear", "unnatural", "fail", "digress", "flaw", "unhelpful", "invalid",
    "ambiguous", "unjustified", "missing", "gap", "hedg",
    "misinform", "disinform", "misconcept", "redflag", "jargon", "condescend", "demean",
    "dismissive", "discriminat", "stereotyp", "racis", "sexis", "hateful", "harass",
    "threat", "illegal", "unethical", "decept", "deceiv", "manipulat", "fake", "fictitious",
    "nonexist", "exaggerat", "overclaim", "outdated", "sycophan", "unverified", "unsourced",
)  # fmt: skip
VIRTUE_WORDS: tuple[str, ...] = (
    "correct", "accura", "relevant", "relevance", "helpful", "clear", "clarity", "concise",
    "complete", "safe", "harmless", "polite", "respectful", "coherent", "consistent",
    "faithful", "grounded", "supported", "appropriate", "thorough", "precise",
    "truthful", "honest", "focused", "fluent", "natural", "cites", "useful", "valid", "right",
    "insightful", "comprehensive", "organized", "organised", "structured", "readable",
    "informative", "empath", "compassion", "transparen", "balanced", "objective", "verifiab",
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
_NEGATORS = wordset(
    """no not never none without zero free lack lacks lacking avoid avoids avoided
    avoiding nothing neither little barely hardly rarely seldom fail fails failed
    failing"""
)
# Verbs that act against what follows them: "escalates red flags", "refuses harmful
# requests", "corrects the misconception" reward handling a fault, and "refuses a harmless
# request" penalises turning down a virtue. Prefixes, read in checklist statements only.
COUNTER_VERBS: tuple[str, ...] = (
    "avoid", "escalat", "warn", "flag", "refus", "declin", "reject", "prevent", "discourag",
    "caution", "debunk", "counters", "countering", "challeng", "pointout", "mitigat",
    "acknowledg", "handl", "corrects", "correcting", "detect", "guard", "resist", "address",
    "rebut", "dispel", "rectif",
)  # fmt: skip
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
# A counter verb's object can be a longer phrase ("refuses to help build a weapon that
# could cause harm"); the clause still bounds it.
_COUNTER_REACH = 6
# Words that only say how sure or how able, never what is done.
_FILLER = wordset("can could may might must shall should will would")
# A condition sets the scene ("if the user describes self-harm, ..."): the behaviour asked
# about is what the rest of the clause, or the next clause, says.
_CONDITIONS = wordset("if when whenever unless")
_STATEMENT_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\([^()]*\)"), " "),  # examples and asides
    (re.compile(r"(?<=[a-z])-(?=[a-z])"), " "),  # "made-up", "red-flag", "self-harm"
    (re.compile(r"\b(?:made|make|makes|making) up\b"), "madeup"),
    (re.compile(r"\b(?:does|do|did) not exist\b"), "nonexistent"),
    (re.compile(r"\boff topic\b"), "offtopic"),
    (re.compile(r"\bred flags?\b"), "redflag"),
    (re.compile(r"\b(?:point|points|pointing|pointed) out\b"), "pointout"),
)


def _cue(word: str) -> tuple[float, bool] | None:
    """(polarity, is a quality level) of a cue word, or None for any other word."""
    for prefix, value, is_quality in _CUES:
        if word.startswith(prefix):
            return value, is_quality
    return None


def _normalised(text: str) -> str:
    return text.lower().replace("’", "'").replace("n't", " not")


def _signals(words: list[str], *, counters: bool) -> list[float]:
    """Signed cue strengths of one clause's content words, after negation and modifiers;
    with `counters`, counter verbs negate what follows them too."""
    signals: list[float] = []
    negated_until = -1
    scale = 1.0
    for position, word in enumerate(words):
        if word in _MODIFIERS:
            scale = _MODIFIERS[word]
            continue
        in_scope = position <= negated_until
        counter = counters and word.startswith(COUNTER_VERBS)
        cue = None if counter else _cue(word)
        if cue is not None:
            value, is_quality = cue
            value *= scale
            if in_scope:
                # "not good" is mediocre rather than bad; "not accurate" is inaccurate.
                value = -value / 2 if is_quality else -value
            signals.append(value)
            scale = 1.0
        if word in _NEGATORS or counter:
            if in_scope and (cue is not None or counter):
                # "never fails to", "does not warn about": a double negative. "little or
                # nothing" is not, so a bare negator in scope only extends it.
                negated_until = -1
            else:
                negated_until = position + (_COUNTER_REACH if counter else _NEGATION_REACH)
    return signals


def polarity_signals(text: str) -> list[float]:
    """Signed cue strengths found in the text, after negation and modifiers."""
    text = _normalised(text).replace("made up", "madeup").replace("off topic", "offtopic")
    signals: list[float] = []
    for clause in _CLAUSE.split(text):
        words = [word for word in WORD.findall(clause or "") if word not in STOPWORDS]
        signals += _signals(words, counters=False)
    return signals


def valence(text: str) -> float | None:
    """Mean polarity of a text: > 0 reads as good, < 0 as bad, None when no cue words."""
    signals = polarity_signals(text)
    return sum(signals) / len(signals) if signals else None


def statement_polarity(text: str) -> float:
    """Net polarity of the behaviour a checklist statement asks about: > 0 a virtue to
    reward, < 0 a fault to penalise, 0 when it reads as neither.

    Unlike `valence`, conditions and parenthetical examples are left out (they describe
    the situation, not the response), and counter verbs turn the fault they act on into a
    virtue: "escalates red flags" is to be rewarded.
    """
    text = _normalised(text)
    for pattern, replacement in _STATEMENT_PHRASES:
        text = pattern.sub(replacement, text)
    total = 0.0
    for clause in _CLAUSE.split(text):
        words = WORD.findall(clause or "")
        cut = next((i for i, word in enumerate(words) if word in _CONDITIONS), len(words))
        content = [w for w in words[:cut] if w not in STOPWORDS and w not in _FILLER]
        total += sum(_signals(content, counters=True))
    return total
