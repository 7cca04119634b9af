"""The real labelled data sets the statistics tests use serve the plot tests too."""

from stats.conftest import autoj, llm_rubric, noisy_verdicts, summeval  # noqa: F401
