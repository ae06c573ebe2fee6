"""How bench/ imports: of the project only `recommender` (its public API), `features`, `demo`
and bench itself, and no private name of another module; and no module imports itself back
through others (profile_notes and the scripts it profiles used to import each other). Counts
imports inside functions too: lint-imports checks the packages, these the names. And no script
sets its own process environment: importing bench imports the engine, which does."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
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


# what bench may import of the project: recommender's public API only, features and demo
OURS = ("features", "recommender", "service", "cli", "demo", "bench", "tests")
ALLOWED = ("features", "demo", "bench")


def _breaches(path: Path) -> list[str]:
    out = []
    for module, names in _imports(path):
        top = module.split(".")[0]
        if top not in OURS:
            continue
        if module != "recommender" and top not in ALLOWED:
            out.append(f"imports {module}")
        out += [f"imports {module}.{n}" for n in names if n.startswith("_")]
    return out


# bench.floor is the floor of the service's own HTTP stack: it serves the service's request
# schema on the service's runtime, and may import those two (and nothing else of service)
FLOOR_IMPORTS = [
    "imports service.schemas.recommendations",
    "imports service.runtime.http_protocol",
    "imports service.runtime.workers",
]


def test_bench_imports_public_names_of_features_demo_and_recommender_only():
    breaches = {p.name: b for p in sorted(BENCH.glob("*.py")) if (b := _breaches(p))}
    assert breaches.pop("floor.py") == FLOOR_IMPORTS
    assert breaches == {}


def test_the_import_check_sees_a_private_name(tmp_path: Path):
    planted = tmp_path / "planted.py"
    planted.write_text(
        "def f():\n"
        "    from demo.generator import GeneratorConfig, _resolve_tables\n"
        "    from recommender.ranking.recommender import request_batch\n"
        "    from cli import main\n"
    )
    assert _breaches(planted) == [
        "imports demo.generator._resolve_tables",
        "imports recommender.ranking.recommender",
        "imports cli",
    ]


# --- the process environment: set in one place -----------------------------------------------
ENVIRONMENT_WRITES = {"os.environ.setdefault", "os.environ.update", "os.putenv"}


def _environment_writes(path: Path) -> list[int]:
    """Lines of `path` that change this process's environment."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in ENVIRONMENT_WRITES:
            lines.append(node.lineno)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            if any(ast.unparse(t).startswith("os.environ[") for t in targets):
                lines.append(node.lineno)
    return sorted(lines)


def test_no_script_sets_its_own_process_environment(tmp_path: Path):
    planted = tmp_path / "planted.py"
    planted.write_text('import os\nos.environ.setdefault("X", "1")\nos.environ["Y"] = "2"\n')
    assert _environment_writes(planted) == [2, 3]
    writes = {p.name: w for p in sorted(BENCH.glob("*.py")) if (w := _environment_writes(p))}
    assert writes == {}


def test_a_benchmark_process_is_tuned_as_the_engine_tunes_it():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    code = "import os, sys, bench; print(os.environ.get('OMP_WAIT_POLICY'))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert out.stdout.strip() == "PASSIVE", out.stderr
