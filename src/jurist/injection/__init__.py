"""Prompt injection against the judge: attacks, a defence, and an audit that measures both."""

from jurist.injection.attacks import (
    ATTACK_KINDS,
    BUILTIN_ATTACKS,
    PAIRWISE_ATTACKS,
    POINTWISE_ATTACKS,
    Attack,
    AttackContext,
    attack_by_name,
    builtin_attacks,
)
from jurist.injection.audit import ItemSource, injection_audit
from jurist.injection.defence import MARKER, Neutralised, defend_item, neutralise
from jurist.injection.report import Agreement, AttackResult, Figure, InjectionReport, Shift

__all__ = [
    "ATTACK_KINDS",
    "BUILTIN_ATTACKS",
    "MARKER",
    "PAIRWISE_ATTACKS",
    "POINTWISE_ATTACKS",
    "Agreement",
    "Attack",
    "AttackContext",
    "AttackResult",
    "Figure",
    "InjectionReport",
    "ItemSource",
    "Neutralised",
    "Shift",
    "attack_by_name",
    "builtin_attacks",
    "defend_item",
    "injection_audit",
    "neutralise",
]
