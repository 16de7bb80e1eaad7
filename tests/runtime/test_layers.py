"""Imports run one way: down the layer table of docs/architecture.md, with no cycle between any two modules.

Every `import` in kubevigil/ counts, including those inside functions and `TYPE_CHECKING` blocks. Importing a
module also runs its packages' `__init__` files, but that is not counted as an edge: only what a module names.
"""

from __future__ import annotations

import ast
import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "kubevigil"

# Upward imports that other work removes; each entry must still be needed, so a stale one fails the test too.
KNOWN_VIOLATIONS: list[tuple[str, str]] = []  # (importer, imported) fnmatch patterns allowed for now; keep empty


@dataclass(frozen=True)
class Layer:
    rank: int
    members: frozenset[str]  # top-level modules or packages under kubevigil/
    may_import: frozenset[str]  # other layers' members


def layer_table() -> list[Layer]:
    """The table under "## Layers" in docs/architecture.md: rank | `members` | `what it may import` (notes aside)."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    layers = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            names = [re.findall(r"`([a-z_]+)`", cell) for cell in cells[1:]]
            layers.append(Layer(int(cells[0]), frozenset(names[0]), frozenset(names[1])))
    assert layers, "docs/architecture.md has no layer table under '## Layers'"
    return layers


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (a package is its __init__.py)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """(imported kubevigil module, line) for every import statement in the module, wherever it stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _kubevigil(alias.name, node.lineno, known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield from _kubevigil(submodule if submodule in known else base, node.lineno, known)


def _kubevigil(dotted: str, line: int, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    if dotted != "kubevigil" and not dotted.startswith("kubevigil."):
        return
    while dotted not in known:  # `import kubevigil.x.name` where name is not a module
        dotted = dotted.rpartition(".")[0]
    yield dotted, line


def graph() -> dict[str, dict[str, int]]:
    """module -> {imported module: first line}."""
    known = modules()
    edges: dict[str, dict[str, int]] = {}
    for name, path in known.items():
        edges[name] = {}
        for target, line in imports(name, path, known):
            if target != name:
                edges[name].setdefault(target, line)
    return edges


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "core"  # kubevigil/__init__.py holds only __version__


def test_the_layer_table_covers_every_top_level_module() -> None:
    members = {m for layer in layer_table() for m in layer.members}
    top = {layer_of(m) for m in modules()}
    assert top <= members, f"not in the layer table of docs/architecture.md: {sorted(top - members)}"


def test_layers_only_import_downwards() -> None:
    layers = {member: layer for layer in layer_table() for member in layer.members}
    for layer in layers.values():
        upward = [m for m in layer.may_import if m in layers and layers[m].rank > layer.rank]
        assert not upward, f"docs/architecture.md: rank {layer.rank} may not import higher ranks {upward}"
    violations, used = [], set()
    for module, targets in graph().items():
        own = layers.get(layer_of(module))
        if own is None:
            continue  # the test above names it
        for target, line in targets.items():
            other = layer_of(target)
            if other in own.members or other in own.may_import:
                continue
            allowed = [k for k in KNOWN_VIOLATIONS if fnmatch.fnmatch(module, k[0]) and fnmatch.fnmatch(target, k[1])]
            if allowed:
                used.update(allowed)
                continue
            rank = layers[other].rank if other in layers else "?"
            violations.append(f"{_file(module)}:{line}: {module} (layer {layer_of(module)}, rank {own.rank}) imports "
                              f"{target} (layer {other}, rank {rank})")
    assert not violations, "imports against docs/architecture.md's layers:\n" + "\n".join(violations)
    stale = [k for k in KNOWN_VIOLATIONS if k not in used]
    assert not stale, f"KNOWN_VIOLATIONS entries no longer needed, remove them: {stale}"


def test_no_import_cycle_between_modules() -> None:
    edges = graph()
    cycles = [" -> ".join([*cycle, cycle[0]]) for cycle in _cycles(edges)]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def _cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle through each strongly connected component of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(edges[child])))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return [_cycle_in(sorted(component), edges) for component in components]


def _cycle_in(component: list[str], edges: dict[str, dict[str, int]]) -> list[str]:
    """A shortest path from the component's first module back to itself (breadth first, inside the component)."""
    inside = set(component)
    start = component[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for target in edges[node]:
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return path[::-1]
                if target in inside and target not in came_from:
                    came_from[target] = node
                    nxt.append(target)
        frontier = nxt
    raise AssertionError(f"no cycle found in component {component}")


def _file(module: str) -> str:
    return str(modules()[module].relative_to(ROOT))


def test_the_checker_sees_imports_inside_functions_and_type_checking_blocks(tmp_path: Path) -> None:
    source = tmp_path / "probe.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from kubevigil.runtime import Runtime\n"
        "def f():\n    import kubevigil.sim.cluster\n    from kubevigil.config import importers\n"
        "    from . import registry\n"
    )
    known = {**modules(), "kubevigil.sinks.probe": source}
    found = {target for target, _ in imports("kubevigil.sinks.probe", source, known)}
    assert found == {"kubevigil.runtime", "kubevigil.sim.cluster", "kubevigil.config.importers",
                     "kubevigil.sinks.registry"}


def test_the_cycle_finder_prints_the_chain() -> None:
    edges = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1, "d": 1}, "d": {}}
    assert _cycles(edges) == [["a", "b", "c"]]
