"""The engine's public API (`recommender.__all__`): every name resolves, the type checkers'
view lists the same names bound to the same objects, and importing the package loads nothing
heavy until a name is used."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import recommender


def _type_checking_imports() -> dict[str, tuple[str, str]]:
    """public name -> (module, attribute) from the `if TYPE_CHECKING:` block of __init__."""
    tree = ast.parse(Path(recommender.__file__).read_text(encoding="utf-8"))
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
    )
    out = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names:
            out[alias.asname or alias.name] = (node.module, alias.name)
    return out


def test_every_public_name_resolves_to_its_module_attribute() -> None:
    for name in recommender.__all__:
        module, attribute = recommender._API[name]
        assert getattr(recommender, name) is getattr(importlib.import_module(module), attribute)


def test_the_type_checkers_view_lists_the_same_names() -> None:
    assert _type_checking_imports() == recommender._API


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        recommender.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("an unknown name resolved")


def test_importing_the_package_loads_nothing_heavy() -> None:
    code = (
        "import sys, recommender; "
        "heavy = [m for m in ('torch', 'faiss', 'lightgbm', 'sklearn', 'onnxruntime', 'pandas') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
