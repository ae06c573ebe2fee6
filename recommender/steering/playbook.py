"""The playbook prior: which content fits which stage and which partner maturity.

Loaded from a YAML file that channel managers can read and edit (the workspace's playbook.yaml,
seeded from `default_playbook.yaml` beside this module).
Validation reports every problem at once with its place in the file (`stage_type.negotiaton`,
an unknown stage) and the allowed names, and the engine keeps its previous playbook when a new
one is rejected.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from features.pairs import DEPTHS, MATURITIES, STAGES, TYPES, PlaybookMatrices
from features.validation import Problem, SchemaError
from recommender.steering.asks import Ask, phrase_words
from recommender.workspace import Workspace

# The engine's default playbook, package data beside this module (data/demo/playbook.yaml in a
# checkout is the same file).
DEFAULT_PLAYBOOK = Path(str(resources.files("recommender.steering") / "default_playbook.yaml"))
_TABLES = {
    "stage_type": (STAGES, TYPES, "stage", "asset type"),
    "maturity_depth": (MATURITIES, DEPTHS, "maturity", "depth"),
    "maturity_type": (MATURITIES, TYPES, "maturity", "asset type"),
}


# the `languages` section's defaults (recommender.ranking.languages)
DEFAULT_UNREADABLE_PER_LIST = 2
DEFAULT_COMPARABLE_RELEVANCE = 0.5


@dataclass(frozen=True)
class Playbook:
    """A validated playbook: the raw mapping (for display and editing) and its matrices."""

    source: str
    raw: dict[str, Any]
    matrices: PlaybookMatrices
    weights: tuple[float, float, float]
    # assets in a language the partner does not read (recommender.ranking.languages): how many
    # may pass readable ones in a list, and within how many standard deviations of scores a
    # readable asset counts as comparable
    unreadable_per_list: int = DEFAULT_UNREADABLE_PER_LIST
    comparable_relevance: float = DEFAULT_COMPARABLE_RELEVANCE
    # what deal notes may ask for, and the asset types that answer (recommender.steering.asks)
    asks: tuple[Ask, ...] = ()

    @classmethod
    def load(cls, path: Path = DEFAULT_PLAYBOOK) -> Playbook:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(f"playbook {path} does not exist") from None
        return cls.from_yaml(text, source=str(path))

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "playbook.yaml") -> Playbook:
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SchemaError([Problem(source, None, None, f"not valid YAML: {exc}")]) from None
        return cls.from_mapping(raw, source=source)

    @classmethod
    def from_mapping(cls, raw: Any, *, source: str = "playbook") -> Playbook:
        problems: list[Problem] = []

        def bad(where: str, reason: str) -> None:
            problems.append(Problem(source, None, where, reason))

        if not isinstance(raw, dict):
            raise SchemaError([Problem(source, None, None, "must be a mapping of tables")])
        known = {"version", "default", "weights", "languages", "asks", *_TABLES}
        for key in raw:
            if key not in known:
                bad(str(key), f"unknown section; expected one of {sorted(known)}")
        default = raw.get("default", 0.25)
        if not _is_unit(default):
            bad("default", f"{default!r} is not a number between 0 and 1")
            default = 0.25
        weights_raw = raw.get("weights", {}) or {}
        weights = []
        for name in _TABLES:
            w = weights_raw.get(name, 1.0) if isinstance(weights_raw, dict) else 1.0
            if not isinstance(w, (int, float)) or isinstance(w, bool) or w < 0:
                bad(f"weights.{name}", f"{w!r} is not a non-negative number")
                w = 1.0
            weights.append(float(w))
        if isinstance(weights_raw, dict):
            for name in weights_raw:
                if name not in _TABLES:
                    bad(f"weights.{name}", f"unknown table; expected one of {sorted(_TABLES)}")
        total = sum(weights) or 1.0
        arrays: dict[str, np.ndarray] = {}
        for name, (rows, cols, row_label, col_label) in _TABLES.items():
            matrix = np.full((len(rows), len(cols)), float(default), dtype=np.float32)
            table = raw.get(name, {}) or {}
            if not isinstance(table, dict):
                bad(name, f"must map each {row_label} to its {col_label} affinities")
                table = {}
            for row_key, cells in table.items():
                if str(row_key) not in rows:
                    bad(
                        f"{name}.{row_key}",
                        f"{row_key!r} is not a {row_label}; expected one of {rows}",
                    )
                    continue
                if not isinstance(cells, dict):
                    bad(f"{name}.{row_key}", f"must map {col_label}s to numbers")
                    continue
                for col_key, value in cells.items():
                    where = f"{name}.{row_key}.{col_key}"
                    if str(col_key) not in cols:
                        bad(where, f"{col_key!r} is not a {col_label}; expected one of {cols}")
                    elif not _is_unit(value):
                        bad(where, f"{value!r} is not a number between 0 and 1")
                    else:
                        matrix[rows.index(str(row_key)), cols.index(str(col_key))] = float(value)
            arrays[name] = matrix
        per_list, comparable = _languages(raw.get("languages"), bad)
        asks = _asks(raw.get("asks"), bad)
        if problems:
            raise SchemaError(problems)
        w = (weights[0] / total, weights[1] / total, weights[2] / total)
        matrices = PlaybookMatrices(
            stage_type=arrays["stage_type"],
            maturity_depth=arrays["maturity_depth"],
            maturity_type=arrays["maturity_type"],
            default=float(default),
            weights=w,
        )
        return cls(
            source=source,
            raw=raw,
            matrices=matrices,
            weights=w,
            unreadable_per_list=per_list,
            comparable_relevance=comparable,
            asks=asks,
        )

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.raw, sort_keys=False, allow_unicode=True)

    def stage_type(self, stage: str, asset_type: str) -> float:
        return float(self.matrices.stage_type[STAGES.index(stage), TYPES.index(asset_type)])

    def best_types(self, stage: str, top: int = 4) -> list[str]:
        """The asset types the playbook favours most for `stage`, best first."""
        row = self.matrices.stage_type[STAGES.index(stage)]
        return [TYPES[i] for i in np.argsort(-row, kind="stable")[:top]]


def _languages(section: Any, bad: Any) -> tuple[int, float]:
    """The `languages` section: (unreadable_per_list, comparable_relevance), defaults kept
    where a value is missing or wrong (reported through `bad`)."""
    per_list, comparable = DEFAULT_UNREADABLE_PER_LIST, DEFAULT_COMPARABLE_RELEVANCE
    if section is None:
        return per_list, comparable
    if not isinstance(section, dict):
        bad("languages", "must map unreadable_per_list and comparable_relevance to numbers")
        return per_list, comparable
    for key in section:
        if key not in ("unreadable_per_list", "comparable_relevance"):
            bad(f"languages.{key}", "unknown setting; expected unreadable_per_list or "
                "comparable_relevance")  # fmt: skip
    value = section.get("unreadable_per_list", per_list)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10:
        per_list = value
    else:
        bad("languages.unreadable_per_list", f"{value!r} is not a whole number from 0 to 10")
    value = section.get("comparable_relevance", comparable)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 5:
        comparable = float(value)
    else:
        bad("languages.comparable_relevance", f"{value!r} is not a number from 0 to 5")
    return per_list, comparable


def _asks(section: Any, bad: Any) -> tuple[Ask, ...]:
    """The `asks` section: each request's name mapped to `types` (asset types that answer
    it), `label` (how a reason names it) and `phrases` (word beginnings, any language);
    none when the section is missing. Problems are reported through `bad`."""
    if section is None:
        return ()
    if not isinstance(section, dict):
        bad("asks", "must map each request's name to its types, label and phrases")
        return ()
    out = []
    for name, spec in section.items():
        where = f"asks.{name}"
        if not isinstance(spec, dict):
            bad(where, "must map types, label and phrases")
            continue
        for key in spec:
            if key not in ("types", "label", "phrases"):
                bad(f"{where}.{key}", "unknown setting; expected types, label or phrases")
        types = spec.get("types")
        if not isinstance(types, list) or not types:
            bad(f"{where}.types", "must list the asset types that answer the request")
            types = []
        codes = []
        for t in types:
            if str(t) in TYPES:
                codes.append(TYPES.index(str(t)))
            else:
                bad(f"{where}.types", f"{t!r} is not an asset type; expected one of {TYPES}")
        label = spec.get("label")
        if not isinstance(label, str) or not label.strip():
            bad(f"{where}.label", "must be the request in words, e.g. 'a payback calculation'")
            label = str(name)
        phrases = spec.get("phrases")
        if not isinstance(phrases, list) or not phrases:
            bad(f"{where}.phrases", "must list the phrases that make the request")
            phrases = []
        words = []
        for k, phrase in enumerate(phrases):
            w = phrase_words(phrase) if isinstance(phrase, str) else ()
            if not w:
                bad(f"{where}.phrases[{k}]", f"{phrase!r} is not a phrase of words")
            else:
                words.append(w)
        out.append(Ask(str(name), tuple(codes), label.strip(), tuple(words)))
    return tuple(out)


def _is_unit(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


def load_playbook(workspace: Workspace) -> Playbook:
    """The workspace's playbook, seeded from the shipped default the first time."""
    if not workspace.playbook_path.exists():
        workspace.ensure()
        shutil.copyfile(DEFAULT_PLAYBOOK, workspace.playbook_path)
    return Playbook.load(workspace.playbook_path)
