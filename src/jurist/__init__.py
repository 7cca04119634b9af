"""jurist: grade LLM outputs with LLM judges against explicit rubrics."""
