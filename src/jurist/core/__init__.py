"""The bottom floor: what a judgment is made of, imported by every other package.

errors, rubric, data (items and their sources), answers (one object per answer type),
parse, estimate, completion, judgment and the credential scrubber. Nothing here imports
from outside `jurist.core`.
"""
