"""The console's labels: one locale file per language (`locales/en.yaml`, `locales/uk.yaml`).

Every label the templates and pages show comes from there through `translate(lang, key,
**values)`; the allowed values of the schema enums (stages, maturities, asset types...) have
a label each under `<kind>.<value>`, so selects list exactly the enum's values, translated.
Catalog text (titles, summaries) and the engine's reason texts are content, not labels: they
are shown as they are (escaped).

The files are package data, read with importlib.resources on first use and checked then: each
is a flat mapping of keys to non-empty strings, every language has exactly the English keys
with the same {placeholders}, and every enum value has a label. A translator's slip (a key
left out, `yes` unquoted, which YAML reads as a boolean) fails with the file and the key.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from enum import StrEnum
from functools import cache
from importlib import resources

import yaml

from features.schema import AssetType, BuyerRole, Language, Maturity, PartnerType, Stage, Tier
from recommender import OverrideAction as Action
from recommender import OverrideScope

log = logging.getLogger(__name__)

LANGS = ("en", "uk")
DEFAULT_LANG = "en"

# Enum kinds whose values get a label each: `<kind>.<value>`.
ENUM_KINDS: dict[str, type[StrEnum]] = {
    "stage": Stage,
    "maturity": Maturity,
    "tier": Tier,
    "type": AssetType,
    "language": Language,
    "role": BuyerRole,
    "ptype": PartnerType,
    "action": Action,
    "oscope": OverrideScope,
}

_PLACEHOLDER = re.compile(r"{(\w+)}")


class LocaleError(ValueError):
    """A locale file that the console cannot use (names the file and the keys at fault)."""


def _read(lang: str) -> dict[str, str]:
    path = resources.files("service.console").joinpath("locales", f"{lang}.yaml")
    table = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(table, dict):
        raise LocaleError(f"locales/{lang}.yaml must be a mapping of label keys to texts")
    bad = sorted(str(k) for k, v in table.items() if not isinstance(v, str) or not v.strip())
    if bad:
        raise LocaleError(f"locales/{lang}.yaml: these labels are not non-empty text: {bad}")
    return {str(k): v for k, v in table.items()}


@cache
def tables() -> dict[str, dict[str, str]]:
    """{language: {key: label}} for every console language, read and checked once."""
    out = {lang: _read(lang) for lang in LANGS}
    english = out[DEFAULT_LANG]
    missing = sorted(k for k in enum_keys() if k not in english)
    if missing:
        raise LocaleError(f"locales/{DEFAULT_LANG}.yaml has no label for {missing}")
    for lang, table in out.items():
        if set(table) != set(english):
            raise LocaleError(
                f"locales/{lang}.yaml: missing {sorted(set(english) - set(table))}, "
                f"unknown {sorted(set(table) - set(english))}"
            )
        odd = [
            k
            for k, text in table.items()
            if set(_PLACEHOLDER.findall(text)) != set(_PLACEHOLDER.findall(english[k]))
        ]
        if odd:
            raise LocaleError(f"locales/{lang}.yaml: placeholders differ from English in {odd}")
    return out


def normalise_lang(value: str | None) -> str | None:
    """`value` if it is a console language, else None."""
    return value if value in LANGS else None


def lang_from_accept(header: str | None) -> str:
    """The first console language named in an Accept-Language header (default English)."""
    for part in (header or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGS:
            return code
    return DEFAULT_LANG


def translate(lang: str, key: str, /, **values: object) -> str:
    """The label `key` in `lang`, with `{placeholders}` filled from `values`.

    A missing key is a bug (the tests catch it); in production it shows the English label,
    or the key itself, rather than failing the page.
    """
    all_tables = tables()
    table = all_tables.get(lang, all_tables[DEFAULT_LANG])
    text = table.get(key)
    if text is None:
        log.warning("console label missing", extra={"key": key, "lang": lang})
        text = all_tables[DEFAULT_LANG].get(key, key)
    return text.format(**values) if values else text


def enum_label(lang: str, kind: str, value: str | None) -> str:
    """The label of one enum value (`enum_label("uk", "stage", "closing")`)."""
    if value is None:
        return ""
    return translate(lang, f"{kind}.{value}")


def reason_label(lang: str, code: str) -> str:
    """The label of one of the engine's reason codes ("reason.other" for a code without one)."""
    key = f"reason.{code}"
    return translate(lang, key if key in tables()[DEFAULT_LANG] else "reason.other")


def enum_keys() -> Iterable[str]:
    """Every `<kind>.<value>` key the enums need."""
    for kind, enum in ENUM_KINDS.items():
        for member in enum:
            yield f"{kind}.{member.value}"
