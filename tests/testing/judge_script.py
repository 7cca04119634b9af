"""A scripted judge for the plugin and suite tests: it knows one fact, that Sydney is not
the capital of Australia, and answers every mode's prompt in the JSON the mode asks for."""

from __future__ import annotations

import json
import re


def scripted_judge(prompt: str, n: int) -> tuple[str, str]:
    """A judge that knows one fact: Sydney is not the capital of Australia."""
    if '"verdict"' in prompt:  # pairwise (the preamble names the tags, so read the last)
        first = prompt.rsplit("<response_a>", 1)[1].split("</response_a>", 1)[0]
        verdict = "B" if "Sydney" in first else "A"
        return "ok", json.dumps({"rationale": "One names the right city.", "verdict": verdict})
    if '"answer"' in prompt:  # a checklist item
        answer = "no" if "Sydney" in prompt else "yes"
        return "ok", json.dumps({"justification": "Checked the city.", "answer": answer})
    scale = re.search(r"an integer from (\d+) to (\d+)", prompt)
    low, high = (int(scale[1]), int(scale[2])) if scale else (1, 5)
    if "Sydney" in prompt:
        rationale = "The response names Sydney, but the reference says Canberra."
        return "ok", json.dumps({"rationale": rationale, "score": low})
    return "ok", json.dumps({"rationale": "It agrees with the reference.", "score": high})
