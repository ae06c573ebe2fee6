"""The benchmark commands people are told to run keep working: every `python -m bench.X ...`
in README.md, BENCHMARKS.md, the Makefile and the scripts' own docstrings names a script
whose --help lists each of its options, and so does every argument run_all passes (it drops
options a script does not know, which would quietly change what `--quick` runs)."""

from __future__ import annotations

import importlib
import re
import shlex
import subprocess

import pytest

from bench import run_all
from bench.common import recommender_command
from tests.support import PROJECT_ROOT

# a command's words stop at the end of a code span, a comment, a table cell or a string
COMMAND = re.compile(r"python -m (bench\.\w+)((?: +[^\s`#|\[\]<>\"',)]+)*)")
SOURCES = ["README.md", "BENCHMARKS.md", "Makefile", *sorted(
    p.relative_to(PROJECT_ROOT).as_posix() for p in (PROJECT_ROOT / "bench").glob("*.py")
)]  # fmt: skip


def _documented() -> list[tuple[str, str, tuple[str, ...]]]:
    """(where, module, arguments) of every benchmark command in SOURCES."""
    found = set()
    for source in SOURCES:
        text = (PROJECT_ROOT / source).read_text(encoding="utf-8")
        for m in COMMAND.finditer(text):
            found.add((source, m.group(1), tuple(shlex.split(m.group(2)))))
    return sorted(found)


def _help(module: str, args: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> str:
    """The --help of `module`'s command (of its subcommand when `args` starts with one)."""
    sub = [a for a in args[:1] if not a.startswith("-")]
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(module).main([*sub, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def _lists(help_text: str, option: str) -> bool:
    """Whether `help_text` names `option` itself (not only a longer one: --no of --no-cold)."""
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text) is not None


def test_the_option_check_tells_an_option_from_a_longer_one():
    assert _lists("  --no-cold  skip it\n  --out OUT", "--no-cold")
    assert _lists("  --no-cold  skip it\n  --out OUT", "--out")
    assert not _lists("  --no-cold  skip it", "--no")


def test_the_documents_name_the_commands_they_should():
    commands = {(m, args) for _, m, args in _documented()}
    assert ("bench.run_all", ("--quick",)) in commands
    assert ("bench.soak", ("--seconds", "300")) in commands
    assert ("bench.bench_http", ("--workers", "2", "--no-cold")) in commands
    assert ("bench.profile_notes", ("recommend",)) in commands


@pytest.mark.parametrize(("where", "module", "args"), _documented(),
                         ids=lambda x: x if isinstance(x, str) else " ".join(x))  # fmt: skip
def test_a_documented_command_names_options_its_script_has(where, module, args, capsys):
    text = _help(module, args, capsys)
    unknown = [a for a in args if a.startswith("-") and not _lists(text, a)]
    assert unknown == [], f"{where}: python -m {module} {shlex.join(args)}"


@pytest.mark.parametrize("bench", run_all.BENCHES, ids=lambda b: b.name)
def test_the_runner_passes_only_options_its_scripts_have(bench, capsys):
    text = _help(bench.module, (), capsys)
    for args in (bench.quick, bench.full):
        assert run_all._known_args(list(args), text) == list(args)


def test_the_scripts_run_the_recommender_command_of_this_checkout():
    out = subprocess.run(
        recommender_command("--help"), cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert all(c in out.stdout for c in ("demo", "ingest", "train", "evaluate", "serve"))
