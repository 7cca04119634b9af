"""Prompt injection against the judge: attacks, a defence, and an audit that measures both.

Modules here are public unless their name starts with `_`; a `_name`, module or
symbol, is never imported from outside this package (tests included).
"""

from jurist.core.defence import (
    JUDGE_NOTE,
    MARKER,
    QUOTES_HEADING,
    SPACER,
    Neutralised,
    defend_item,
    detect,
    neutralise,
    outside_fences,
    spaced,
    unfence,
)
from jurist.injection.attacks import (
    ATTACK_KINDS,
    BUILTIN_ATTACKS,
    PAIRWISE_ATTACKS,
    POINTWISE_ATTACKS,
    Attack,
    AttackContext,
    OrdinaryAnswer,
    attack_by_name,
    attack_families,
    builtin_attacks,
    family_attacks,
    ordinary_answers,
)
from jurist.injection.audit import InjectionSettings, injection_audit
from jurist.injection.report import Agreement, AttackResult, Figure, InjectionReport, Shift

__all__ = [
    "ATTACK_KINDS",
    "BUILTIN_ATTACKS",
    "JUDGE_NOTE",
    "MARKER",
    "PAIRWISE_ATTACKS",
    "POINTWISE_ATTACKS",
    "QUOTES_HEADING",
    "SPACER",
    "Agreement",
    "Attack",
    "AttackContext",
    "AttackResult",
    "Figure",
    "InjectionReport",
    "InjectionSettings",
    "Neutralised",
    "OrdinaryAnswer",
    "Shift",
    "attack_by_name",
    "attack_families",
    "builtin_attacks",
    "defend_item",
    "detect",
    "family_attacks",
    "injection_audit",
    "neutralise",
    "ordinary_answers",
    "outside_fences",
    "spaced",
    "unfence",
]
