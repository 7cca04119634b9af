"""The built-in presets: a rubric (YAML) per public labelled set that `datasets` loads.

Modules here are public unless their name starts with `_`; a `_name`, module or
symbol, is never imported from outside this package (tests included).
"""
