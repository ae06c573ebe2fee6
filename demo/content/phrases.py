"""The demo's phrase tables: data/phrases/*.yaml, read as package data and checked on load.

The files hold the words of the demo world (product descriptions, titles, sentence templates,
deal notes, partner names) with Ukrainian, Russian and English side by side, so a translator
edits text without touching code; the builders (demo.content) assemble them. Each file starts
with a comment saying what its placeholders mean.

`table(name)` reads data/phrases/<name>.yaml once and checks it against the shape the builders
rely on: every language present, only the placeholders its sentence is filled with, exactly
the ids the code knows (asset types, stages, roles and depths from features.schema; products,
competitors, industries and regions from demo.content.world). A file that breaks it raises
PhraseError naming the file, the key and what is wrong, e.g.
`titles.yaml: case_study[1].uk: unknown placeholder {produt}`.
After an edit, `python -m demo.content` regenerates the committed demo data.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from demo.content.world import COMPETITOR_IDS, INDUSTRY_WEIGHTS, LANGUAGES, PRODUCT_IDS, REGION_IDS
from features.schema import AssetType, BuyerRole, Depth, Stage, values

__all__ = ["NAMES", "PhraseError", "industry_words", "parse", "table"]


class PhraseError(ValueError):
    """A phrase file that cannot be read, or breaks the shape the builders rely on."""


# --- the shapes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    """A string. `slots` are the placeholders it is filled with; without slots it is used as
    written, so a brace in it is a mistake."""

    slots: frozenset[str] = frozenset()
    empty: bool = False


@dataclass(frozen=True)
class _Choice:
    """A plain text that is one of these ids (e.g. a component of documents.yaml)."""

    ids: tuple[str, ...]


@dataclass(frozen=True)
class _Langs:
    """The same text in every language: {uk: ..., ru: ..., en: ...}."""

    text: _Text


@dataclass(frozen=True)
class _List:
    """A non-empty list (of `length` items when given)."""

    item: _Spec
    length: int | None = None


@dataclass(frozen=True)
class _Fields:
    """A mapping with exactly these keys."""

    fields: Mapping[str, _Spec]


@dataclass(frozen=True)
class _Ids:
    """A mapping from exactly these ids to entries of one shape."""

    item: _Spec
    ids: tuple[str, ...]


_Spec = _Text | _Choice | _Langs | _List | _Fields | _Ids


def _langs(*slots: str, empty: bool = False) -> _Langs:
    return _Langs(_Text(frozenset(slots), empty))


_PLAIN = _Text()
# What titles and summary sentences are filled with (see titles.yaml).
_ASSET_SLOTS = (
    "product",
    "product2",
    "desc",
    "result",
    "topic",
    "topic_cap",
    "ind_for",
    "ind_title",
    "ind_name",
    "ind_pl",
    "customer",
    "customer_cap",
    "competitor",
    "profile",
    "weeks",
    "stages",
    "roles",
)
_SENTENCES = _List(_langs(*_ASSET_SLOTS))
_INDUSTRY = _Fields(
    {
        "title": _langs(),
        "name": _PLAIN,
        "for": _langs(empty=True),
        "plural": _langs(),
        "pains": _List(_langs()),
        "customers": _List(_langs()),
    }
)
_TYPES = tuple(values(AssetType))
_HEADINGS = (
    "overview", "challenge", "solution", "inside", "usage", "next_steps", "results", "strengths",
    "weaknesses", "objections", "ask", "specifications", "components", "data_flow", "questions",
    "steps",
)  # fmt: skip
# The building blocks of the reference architectures (documents.yaml, components).
COMPONENT_IDS = (
    "field_devices", "edge_gateway", "scada_connector", "message_broker", "historian",
    "cloud_platform", "analytics", "identity_provider", "secure_access", "video_server",
    "erp_connector", "mobile_app", "dashboards",
)  # fmt: skip
_LEGAL_FORMS = _Fields({"legal_forms": _List(_PLAIN)})
WORKBOOK_LABELS = (
    "inputs", "outputs", "investment", "annual_savings", "annual_running_cost", "years",
    "net_benefit", "roi", "payback_months", "current_upfront", "current_yearly", "new_upfront",
    "new_yearly", "tco_current", "tco_new", "saving", "saving_share", "sites",
    "devices_per_site", "device_price", "gateway_price", "install_days", "day_rate",
    "licence_per_device", "hardware", "installation", "licences", "total",
)  # fmt: skip

_SPECS: dict[str, _Spec] = {
    "products": _Ids(
        _Fields(
            {
                "name": _PLAIN,
                "description": _langs(),
                "result": _langs("pct"),
                "specs": _List(_langs()),
                "topics": _List(_langs()),
            }
        ),
        PRODUCT_IDS,
    ),
    "industries": _Fields(
        {"industries": _Ids(_INDUSTRY, tuple(INDUSTRY_WEIGHTS)), "generic": _INDUSTRY}
    ),
    "competitors": _Ids(
        _Fields(
            {
                "name": _PLAIN,
                "profile": _langs(),
                "strengths": _List(_langs()),
                "weaknesses": _List(_langs()),
                "objections": _List(_Fields({"objection": _langs(), "answer": _langs("product")})),
            }
        ),
        COMPETITOR_IDS,
    ),
    "regions": _Ids(_SENTENCES, REGION_IDS),
    "stages-and-roles": _Fields(
        {
            "stages": _Ids(_langs(), tuple(values(Stage))),
            "roles": _Ids(_langs(), tuple(values(BuyerRole))),
        }
    ),
    "titles": _Ids(_SENTENCES, _TYPES),
    "summaries": _Fields(
        {
            "openers": _Ids(_SENTENCES, _TYPES),
            # case studies tell their story and battlecards their competitor instead
            "bodies": _Ids(
                _SENTENCES, tuple(t for t in _TYPES if t not in ("case_study", "battlecard"))
            ),
            "audience": _Ids(_SENTENCES, tuple(values(Depth))),
            "sentences": _Fields(
                {
                    "product": _SENTENCES,
                    "pain": _List(_langs(*_ASSET_SLOTS, "pain", "pain_lc")),
                    "case": _SENTENCES,
                    "battle": _SENTENCES,
                    "second_product": _SENTENCES,
                    "stage_one": _SENTENCES,
                    "stage_many": _SENTENCES,
                    "any_stage": _SENTENCES,
                    "roles": _SENTENCES,
                    "call_to_action": _SENTENCES,
                    "and": _langs(),
                }
            ),
        }
    ),
    "documents": _Fields(
        {
            "headings": _Fields({key: _langs() for key in _HEADINGS}),
            "case_result": _langs("customer_cap", "result"),
            "calculator_inputs": _List(_langs()),
            "battlecard_questions": _List(_langs()),
            "proposal_table": _List(_PLAIN, length=3),
            "data_flow": _langs("chain"),
            "components": _Ids(_Fields({"name": _langs(), "role": _langs()}), COMPONENT_IDS),
            "architectures": _Ids(_List(_Choice(COMPONENT_IDS)), PRODUCT_IDS),
            "faq": _List(_Fields({"question": _langs("product"), "answer": _langs("product")})),
            "playbook_steps": _List(_langs("product")),
        }
    ),
    "workbooks": _Fields(
        {
            "sheets": _Fields({"calculator": _langs(), "about": _langs()}),
            "about": _langs(),
            "labels": _Fields({key: _langs() for key in WORKBOOK_LABELS}),
        }
    ),
    "deal-notes": _Fields(
        {
            "openings": _List(_langs("ind_name", "ind_title", "product", "sites")),
            "competition": _List(_langs("competitor")),
            "needs": _Ids(_langs(), tuple(values(BuyerRole))),
            "budget": _langs("size"),
        }
    ),
    "partner-names": _Fields(
        {
            "brands": _List(_PLAIN),
            "english_cores": _List(_PLAIN),
            "ua": _Fields(
                {
                    "cyrillic_roots": _List(_PLAIN),
                    "cyrillic_forms": _List(_Text(frozenset({"root"}))),
                    "cities": _List(_PLAIN),
                    "suffixes": _List(_Text(empty=True)),
                }
            ),
            "pl": _Fields(
                {"cores": _List(_PLAIN), "cities": _List(_PLAIN), "legal_forms": _List(_PLAIN)}
            ),
            "dach": _Fields({"cores": _List(_PLAIN), "legal_form": _PLAIN}),
            "baltics": _LEGAL_FORMS,
            "md": _LEGAL_FORMS,
            "cee": _LEGAL_FORMS,
        }
    ),
    "faq": _Fields({"title": _PLAIN, "summary": _PLAIN}),
}
# The phrase files, by name (data/phrases/<name>.yaml).
NAMES = tuple(_SPECS)


# --- reading and checking ---------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, where: str, reason: str) -> None:
        super().__init__(where, reason)
        self.where, self.reason = where, reason


def _key(where: str, key: object) -> str:
    return f"{where}.{key}" if where else str(key)


def _mapping(value: Any, where: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise _Bad(where, f"expected keys and values, got {value!r}")
    return value


def _exact_keys(value: Mapping[Any, Any], expected: tuple[str, ...], where: str) -> None:
    missing = [k for k in expected if k not in value]
    if missing:
        raise _Bad(_key(where, missing[0]), f"missing; expected keys {list(expected)}")
    unknown = [k for k in value if k not in expected]
    if unknown:
        raise _Bad(_key(where, unknown[0]), f"unknown key; expected one of {list(expected)}")


def _check_text(value: Any, spec: _Text, where: str) -> None:
    if not isinstance(value, str):
        raise _Bad(where, f"expected text in double quotes, got {value!r}")
    if not value.strip() and not spec.empty:
        raise _Bad(where, "is empty")
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:
        raise _Bad(where, f"{exc} in {value!r}; write {{{{ and }}}} for a literal brace") from None
    allowed = ", ".join(f"{{{s}}}" for s in sorted(spec.slots)) or "none"
    for name in fields:
        if not spec.slots:
            raise _Bad(where, f"has a placeholder {{{name}}} but nothing fills it here")
        if name not in spec.slots:
            raise _Bad(where, f"unknown placeholder {{{name}}}; allowed: {allowed}")


def _check(value: Any, spec: _Spec, where: str) -> None:
    if isinstance(spec, _Text):
        _check_text(value, spec, where)
    elif isinstance(spec, _Choice):
        if value not in spec.ids:
            raise _Bad(where, f"{value!r} is not one of {list(spec.ids)}")
    elif isinstance(spec, _Langs):
        entry = _mapping(value, where)
        _exact_keys(entry, LANGUAGES, where)
        for lang in LANGUAGES:
            _check_text(entry[lang], spec.text, _key(where, lang))
    elif isinstance(spec, _List):
        if not isinstance(value, list) or not value:
            raise _Bad(where, f"expected a list of at least one item, got {value!r}")
        if spec.length is not None and len(value) != spec.length:
            raise _Bad(where, f"expected {spec.length} items, got {len(value)}")
        for i, item in enumerate(value):
            _check(item, spec.item, f"{where}[{i}]")
    elif isinstance(spec, _Fields):
        entry = _mapping(value, where)
        _exact_keys(entry, tuple(spec.fields), where)
        for key, inner in spec.fields.items():
            _check(entry[key], inner, _key(where, key))
    else:
        entry = _mapping(value, where)
        _exact_keys(entry, spec.ids, where)
        for key, item in entry.items():
            _check(item, spec.item, _key(where, key))


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe YAML loader (libyaml's when present) that refuses a key given twice."""


def _mapping_without_duplicates(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is given twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def parse(name: str, text: str, *, source: str | None = None) -> dict[str, Any]:
    """The phrase table `name` from YAML `text`, checked; PhraseError names `source` (default
    `<name>.yaml`), the key and the reason when it is not what the builders need."""
    source = source or f"{name}.yaml"
    try:
        spec = _SPECS[name]
    except KeyError:
        raise PhraseError(
            f"{name!r} is not a phrase table; expected one of {list(NAMES)}"
        ) from None
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PhraseError(f"{source}: not valid YAML: {at}{problem}") from None
    try:
        _check(data, spec, "")
    except _Bad as bad:
        raise PhraseError(f"{source}: {bad.where or '(the whole file)'}: {bad.reason}") from None
    return dict(data)


@cache
def table(name: str) -> dict[str, Any]:
    """The checked phrase table data/phrases/<name>.yaml (package data), read once. Shared:
    callers read it and never change it."""
    path = resources.files("demo") / "data" / "phrases" / f"{name}.yaml"
    if name not in _SPECS:
        raise PhraseError(f"{name!r} is not a phrase table; expected one of {list(NAMES)}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PhraseError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return parse(name, text, source=str(path))


def industry_words(industry: str | None, language: str) -> dict[str, Any]:
    """The phrases of one industry in one language (the generic ones when `industry` is None
    or unknown): title, name, for, pl (plural), pains and customers (lists)."""
    words = table("industries")
    entry = words["industries"].get(industry or "", words["generic"])
    title = entry["title"][language]
    return {
        "title": title,
        "name": entry["name"] if language == "en" else title,
        "for": entry["for"][language],
        "pl": entry["plural"][language],
        "pains": [pain[language] for pain in entry["pains"]],
        "customers": [customer[language] for customer in entry["customers"]],
    }
