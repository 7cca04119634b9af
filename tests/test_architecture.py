"""The shape of `src/jurist`, checked from its source with `ast`.

Floors point one way (core at the bottom, cli on top), modules import each other without
cycles, the top level stays a short map, functions stay short, and a `_private` name never
leaves its package. Each failure names the offending modules so the fix is obvious.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "jurist"
TESTS = ROOT / "tests"
BENCH = ROOT / "bench"
PRIVACY = "public unless their name starts with `_`"

# The floors, bottom first. A module may import its own floor or any floor below it.
# `stats` is pure statistics on arrays: it imports only `core` and may be imported from
# any floor, so an import of it never points up. `whitebox` is the transformers runtime the
# `hf` backend runs on, so it sits beside the backends; fitting its heads from a graded run
# is a report's job (`meta.calibrate`). Juries and tournaments are sessions of sessions, so
# they sit between the session and the engines that schedule them.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("stats",),
    ("backends", "store", "prompts", "datasets", "presets", "whitebox"),
    ("judges",),
    ("session",),
    ("jury", "ranking"),
    ("engine",),
    ("grading",),
    ("rewards", "rubrics", "train", "injection", "meta"),
    ("view", "testing", "tune"),
    ("cli", "__main__", "__init__"),
)
ANYWHERE = frozenset({"stats"})
# The one import allowed to point up the floors, as (importing unit, imported unit); None
# while no import needs it.
ALLOWED_UPWARD: tuple[str, str] | None = None

MAX_TOP_LEVEL_MODULES = 8
MAX_FUNCTION_LINES = 80


@dataclass(frozen=True)
class Import:
    """One `import`/`from ... import` naming a jurist module."""

    importer: str
    target: str  # the module the statement reaches (a submodule when one is named)
    names: tuple[str, ...]  # names taken from `target` (empty for a plain `import`)
    line: int


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def source_modules() -> dict[str, Path]:
    """Every module under src/jurist by dotted name (a package by its `__init__`)."""
    return {module_name(path, SRC): path for path in sorted(PACKAGE.rglob("*.py"))}


MODULES = source_modules()


def resolve_relative(importer: str, is_package: bool, level: int, module: str | None) -> str:
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def imports_of(path: Path, importer: str) -> Iterator[Import]:
    """Every jurist import in a file, at any depth (function level and TYPE_CHECKING too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "jurist" or alias.name.startswith("jurist."):
                    yield Import(importer, alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = (
                resolve_relative(importer, is_package, node.level, node.module)
                if node.level
                else node.module or ""
            )
            if base != "jurist" and not base.startswith("jurist."):
                continue
            plain: list[str] = []
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in MODULES:
                    yield Import(importer, sub, (), node.lineno)
                else:
                    plain.append(alias.name)
            if plain or not node.names:
                yield Import(importer, base, tuple(plain), node.lineno)


def all_imports() -> list[Import]:
    return [found for name, path in MODULES.items() for found in imports_of(path, name)]


def owner(module: str) -> str:
    """The unit a module belongs to: its top-level package, or itself at the top level."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def floor_of(module: str) -> int:
    unit = owner(module)
    for index, floor in enumerate(FLOORS):
        if unit in floor:
            return index
    raise AssertionError(f"{module}: its unit {unit!r} has no floor in FLOORS; add it")


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components of size > 1 (and self-loops): the import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_floor() -> None:
    for name in MODULES:
        floor_of(name)


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    lines: dict[tuple[str, str], int] = {}
    for found in all_imports():
        if found.target in MODULES and found.target != found.importer:
            graph[found.importer].add(found.target)
            lines.setdefault((found.importer, found.target), found.line)
    cycles = strongly_connected(graph)
    report = []
    for component in cycles:
        members = set(component)
        edges = [
            f"    {a}:{lines[(a, b)]} -> {b}" for a in component for b in sorted(graph[a] & members)
        ]
        report.append(" <-> ".join(component) + "\n" + "\n".join(edges))
    assert not cycles, "import cycles in src/jurist:\n" + "\n".join(report)


def upward_imports() -> list[Import]:
    """Imports from a lower floor to a higher one (imports of `stats` never count)."""
    return [
        found
        for found in all_imports()
        if found.target in MODULES
        and owner(found.target) not in ANYWHERE
        and floor_of(found.target) > floor_of(found.importer)
    ]


def test_at_most_one_upward_import() -> None:
    upward = upward_imports()
    unexpected = [
        found for found in upward if (owner(found.importer), owner(found.target)) != ALLOWED_UPWARD
    ]
    described = [
        f"  {found.importer}:{found.line} (floor {floor_of(found.importer)}) -> "
        f"{found.target} (floor {floor_of(found.target)})"
        for found in unexpected
    ]
    assert not unexpected, "imports pointing up the floors:\n" + "\n".join(described)


def test_stats_is_pure() -> None:
    """`stats` may be imported from any floor because it imports nothing above core."""
    leaks = [
        f"  {found.importer}:{found.line} -> {found.target}"
        for found in all_imports()
        if owner(found.importer) == "stats" and owner(found.target) not in {"stats", "core"}
    ]
    assert not leaks, "stats imports beyond core:\n" + "\n".join(leaks)


def test_top_level_is_a_short_map() -> None:
    modules = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, (
        f"{len(modules)} modules at the top of src/jurist (at most "
        f"{MAX_TOP_LEVEL_MODULES}): {', '.join(modules)}"
    )


def function_length(node: ast.FunctionDef | ast.AsyncFunctionDef, in_cli: bool) -> int:
    """Lines from `def` to the end; in `cli/`, the body after the signature only, since a
    Typer command's option declarations are declarations, not logic (a command may be
    registered without a decorator, so every CLI function is measured that way)."""
    end = node.end_lineno or node.lineno
    start = node.body[0].lineno if in_cli else node.lineno
    return end - start + 1


def test_no_long_functions() -> None:
    long: list[str] = []
    for name, path in MODULES.items():
        in_cli = owner(name) == "cli"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = function_length(node, in_cli)
                if length > MAX_FUNCTION_LINES:
                    long.append(f"  {name}.{node.name} (line {node.lineno}): {length} lines")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(long)


def private_imports(importer: str, path: Path) -> Iterator[str]:
    """`_name` modules or symbols this file takes from another unit of jurist."""
    home = owner(importer) if importer.startswith("jurist") else None
    for found in imports_of(path, importer):
        if home is not None and owner(found.target) == home:
            continue
        parts = found.target.split(".")
        private = [part for part in parts if part.startswith("_") and part != "__init__"]
        private += [name for name in found.names if name.startswith("_")]
        if private and "__main__" not in parts:
            taken = ", ".join(private)
            yield f"  {importer}:{found.line} takes {taken} from {found.target}"


def test_no_private_name_crosses_a_package() -> None:
    offences: list[str] = []
    for name, path in MODULES.items():
        offences += private_imports(name, path)
    for folder in (TESTS, BENCH):
        for path in sorted(folder.rglob("*.py")):
            offences += private_imports(f"{folder.name}.{module_name(path, folder)}", path)
    assert not offences, "private names imported across packages:\n" + "\n".join(offences)


@pytest.mark.parametrize("package", sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py")))
def test_package_docstring_states_privacy(package: str) -> None:
    """Each package states the one privacy convention in its `__init__` docstring."""
    source = (PACKAGE / package / "__init__.py").read_text(encoding="utf-8")
    docstring = " ".join((ast.get_docstring(ast.parse(source)) or "").split())
    assert PRIVACY in docstring, (
        f"jurist.{package}.__init__: the docstring should say that modules here are "
        f"{PRIVACY} and that a `_name` is never imported from outside the package"
    )
