"""Heavy third-party modules bound at import, loaded on first use.

`jurist --help`, and a grading run that never computes a statistic, should not pay for
importing scipy (about a second on a small machine). `stats = lazy("scipy.stats")` reads
like the import it replaces; the first attribute looked up imports the real module.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    """A stand-in that imports `name` on first attribute access and then holds its names."""

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return getattr(module, attribute)


def lazy(name: str) -> Any:
    """The module `name`, imported when first used (typed `Any`, as a module attribute is)."""
    return LazyModule(name)
