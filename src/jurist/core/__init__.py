"""The bottom floor: what a judgment is made of, imported by every other package.

errors, rubric (with `Rubric.combine`, the one combined score), data (items), answers (one
object per answer type), parse, estimate, completion and judgment (each with one `extras`
mapping for what a feature adds), paths (the user's cache folder, the packaged model) and
the credential scrubber. Nothing here imports from outside `jurist.core`.

Modules here are public unless their name starts with `_`; a `_name`, module or
symbol, is never imported from outside this package (tests included).
"""
