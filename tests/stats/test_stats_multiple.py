"""Holm's step-down adjustment against values worked out by hand."""

from __future__ import annotations

import pytest

from jurist.stats import holm


def test_holm_hand_computed():
    # Sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> kept
    # at the running maximum 0.06; results come back in the order given.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_never_decreases():
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    assert holm([0.02, 0.02]) == pytest.approx([0.04, 0.04])
    assert holm([0.001, 0.2, 0.03]) == pytest.approx([0.003, 0.2, 0.06])


def test_holm_of_one_or_none():
    assert holm([0.049]) == pytest.approx([0.049])
    assert holm([]) == []
