"""How bench/ imports: no module imports itself back through others (profile_notes and the
scripts it profiles used to import each other). Counts imports inside functions too: a
circle through a lazy import is still a circle to the reader."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import PROJECT_ROOT

BENCH = PROJECT_ROOT / "bench"


def _imports(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(module, names) of every import statement in `path`, wherever it sits."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, tuple(alias.name for alias in node.names)))
    return out


def _bench_graph() -> dict[str, set[str]]:
    """bench module -> the bench modules it imports (`from bench import x` counts as bench.x)."""
    modules = {f"bench.{p.stem}" for p in BENCH.glob("*.py") if p.stem != "__init__"}
    graph: dict[str, set[str]] = {}
    for name in sorted(modules):
        targets = set()
        for module, names in _imports(BENCH / f"{name.split('.')[1]}.py"):
            targets |= {m for m in (module, *(f"{module}.{n}" for n in names)) if m in modules}
        graph[name] = targets - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of `graph` as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_planted_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_bench_has_no_import_circle():
    graph = _bench_graph()
    assert "bench.profiling" in graph["bench.bench_recommend"]  # the graph sees lazy imports
    assert _cycle(graph) is None
