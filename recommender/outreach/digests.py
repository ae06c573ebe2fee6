"""Digests: for each partner, the relevant assets it has not opened, ready to paste into an
e-mail or the portal's news feed.

`build_digest` picks a partner's top `n` from `awareness` (the engine's ranking over the
partner's typical deals, opened assets left out), in the languages the partner reads, leaving
out what earlier digests sent: pinned assets first (a hidden one never appears: steering
applies as in every ranking), then what was published since `since` (the last digest, unless
given), then the rest by relevance. Each item carries one line of reasons in the partner's
language (the first it reads of Ukrainian, Russian and English; English otherwise) and, with
a `LinkSigner`, a tracked link (`/r/{token}` under the service's address) in place of the
asset's own URL.

`render(digests, fmt)` writes them as Markdown, an HTML fragment (everything escaped; only
http(s) links) or JSON; `record` stores them (`DigestStore`) so that the next digest does not
repeat them.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from features.schema import Language
from recommender.outreach.awareness import AwareItem, awareness
from recommender.outreach.links import LinkSigner, web_url
from recommender.outreach.store import DigestRecord, DigestStore, new_digest_id
from recommender.ranking.reasons import LANGUAGE_NAMES as ENGLISH_LANGUAGE_NAMES
from recommender.ranking.snapshot import Snapshot
from recommender.types import PartnerProfile

FORMATS = ("html", "md", "json")
DEFAULT_ITEMS = 5

# --- the words of a digest, in the three languages partners read ----------------------------
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Enablement picks for {partner}",
        "intro": "Materials you have not opened yet, chosen for your deals ({n}):",
        "none": "Nothing new this time: you have opened, or we have already sent, everything "
        "that fits your deals.",
        "new": "New",
        "stages": "Stages: {stages}",
        "pinned": "Chosen for you by your channel manager",
        "in": "in {language}",
    },
    "uk": {
        "title": "Добірка матеріалів для {partner}",
        "intro": "Матеріали, які ви ще не відкривали, дібрані під ваші угоди ({n}):",
        "none": "Цього разу нового немає: усе, що пасує вашим угодам, ви вже відкривали або ми "
        "вже надсилали.",
        "new": "Новинка",
        "stages": "Етапи: {stages}",
        "pinned": "Обрано для вас вашим менеджером каналу",
        "in": "мова: {language}",
    },
    "ru": {
        "title": "Подборка материалов для {partner}",
        "intro": "Материалы, которые вы ещё не открывали, подобранные под ваши сделки ({n}):",
        "none": "В этот раз нового нет: всё, что подходит вашим сделкам, вы уже открывали или "
        "мы уже отправляли.",
        "new": "Новинка",
        "stages": "Этапы: {stages}",
        "pinned": "Выбрано для вас вашим менеджером канала",
        "in": "язык: {language}",
    },
}

# the engine's reason codes (recommender.ranking.reasons) as one phrase each
REASONS: dict[str, dict[str, str]] = {
    "en": {
        "boosted": "Recommended by your channel manager",
        "stage": "Written for these deal stages",
        "playbook_stage": "The playbook recommends this kind of material at these stages",
        "industry": "About your industry",
        "product": "Covers products you are certified for",
        "won_with": "Used in deals that similar partners won",
        "popular": "Popular with partners like you",
        "maturity": "Right depth for your experience with us",
        "playbook": "Fits these stages by the playbook",
    },
    "uk": {
        "boosted": "Рекомендує ваш менеджер каналу",
        "stage": "Створено саме для цих етапів угоди",
        "playbook_stage": "Плейбук радить такий матеріал на цих етапах",
        "industry": "Про вашу галузь",
        "product": "Про продукти, на які ви сертифіковані",
        "won_with": "Використовували в угодах, які виграли схожі партнери",
        "popular": "Популярне серед партнерів, схожих на вас",
        "maturity": "Відповідає вашому досвіду роботи з нами",
        "playbook": "Пасує цим етапам за плейбуком",
    },
    "ru": {
        "boosted": "Рекомендует ваш менеджер канала",
        "stage": "Создано именно для этих этапов сделки",
        "playbook_stage": "Плейбук советует такой материал на этих этапах",
        "industry": "О вашей отрасли",
        "product": "О продуктах, по которым вы сертифицированы",
        "won_with": "Использовали в сделках, которые выиграли похожие партнёры",
        "popular": "Популярно у партнёров, похожих на вас",
        "maturity": "Соответствует вашему опыту работы с нами",
        "playbook": "Подходит этим этапам по плейбуку",
    },
}

STAGES: dict[str, dict[str, str]] = {
    "en": {
        "prospecting": "prospecting", "qualification": "qualification",
        "discovery": "discovery", "solution": "solution design", "negotiation": "negotiation",
        "closing": "closing", "post_sale": "after the sale",
    },
    "uk": {
        "prospecting": "пошук клієнтів", "qualification": "кваліфікація",
        "discovery": "виявлення потреб", "solution": "розробка рішення",
        "negotiation": "переговори", "closing": "закриття угоди", "post_sale": "після продажу",
    },
    "ru": {
        "prospecting": "поиск клиентов", "qualification": "квалификация",
        "discovery": "выявление потребностей", "solution": "разработка решения",
        "negotiation": "переговоры", "closing": "закрытие сделки", "post_sale": "после продажи",
    },
}  # fmt: skip

TYPES: dict[str, dict[str, str]] = {
    "en": {
        "white_paper": "white paper", "article": "article", "case_study": "case study",
        "roi_calculator": "ROI calculator", "tco_calculator": "TCO calculator",
        "tech_commercial_calculator": "technical and commercial calculator",
        "battlecard": "battlecard", "datasheet": "datasheet", "presentation": "presentation",
        "webinar": "webinar", "training_course": "training course",
        "onboarding_guide": "onboarding guide", "playbook": "playbook",
        "proposal_template": "proposal template",
        "reference_architecture": "reference architecture", "faq": "FAQ",
    },
    "uk": {
        "white_paper": "аналітичний огляд", "article": "стаття", "case_study": "кейс",
        "roi_calculator": "калькулятор ROI", "tco_calculator": "калькулятор TCO",
        "tech_commercial_calculator": "техніко-комерційний калькулятор",
        "battlecard": "бойова картка", "datasheet": "технічний опис",
        "presentation": "презентація", "webinar": "вебінар", "training_course": "курс",
        "onboarding_guide": "посібник для початку роботи", "playbook": "плейбук",
        "proposal_template": "шаблон пропозиції",
        "reference_architecture": "референсна архітектура", "faq": "питання й відповіді",
    },
    "ru": {
        "white_paper": "аналитический обзор", "article": "статья", "case_study": "кейс",
        "roi_calculator": "калькулятор ROI", "tco_calculator": "калькулятор TCO",
        "tech_commercial_calculator": "технико-коммерческий калькулятор",
        "battlecard": "боевая карточка", "datasheet": "техническое описание",
        "presentation": "презентация", "webinar": "вебинар", "training_course": "курс",
        "onboarding_guide": "руководство для начала работы", "playbook": "плейбук",
        "proposal_template": "шаблон предложения",
        "reference_architecture": "референсная архитектура", "faq": "вопросы и ответы",
    },
}  # fmt: skip

LANGUAGE_NAMES: dict[str, dict[str, str]] = {
    "en": ENGLISH_LANGUAGE_NAMES,
    "uk": {"uk": "українська", "ru": "російська", "en": "англійська"},
    "ru": {"uk": "украинский", "ru": "русский", "en": "английский"},
}


@dataclass(frozen=True)
class DigestItem:
    asset_id: str
    title: str
    type: str
    language: str | None
    url: str | None  # the asset's own
    link: str | None  # what the digest links to: the tracked link, else `url`
    reason: str  # one line, in the digest's language
    new: bool
    pinned: bool
    relevance: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset_id": self.asset_id,
            "title": self.title,
            "type": self.type,
            "language": self.language,
            "url": self.url,
            "link": self.link,
            "reason": self.reason,
            "new": self.new,
            "pinned": self.pinned,
            "relevance": round(self.relevance, 6),
        }


@dataclass(frozen=True)
class PartnerDigest:
    digest_id: str
    partner_id: str
    partner_name: str
    manager: str | None
    language: str  # the digest's text
    created_at: datetime
    since: datetime | None  # "new" means published on or after this day
    items: tuple[DigestItem, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "digest_id": self.digest_id,
            "partner_id": self.partner_id,
            "partner_name": self.partner_name,
            "manager": self.manager,
            "language": self.language,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "since": self.since.isoformat(timespec="seconds") if self.since else None,
            "items": [item.to_dict() for item in self.items],
        }

    def record(self, *, created_by: str, fmt: str) -> DigestRecord:
        return DigestRecord(
            digest_id=self.digest_id,
            partner_id=self.partner_id,
            created_at=self.created_at,
            created_by=created_by,
            language=self.language,
            format=fmt,
            asset_ids=tuple(item.asset_id for item in self.items),
            since=self.since,
        )


def digest_language(partner: PartnerProfile) -> str:
    """The language a digest speaks to `partner`: the first of its languages we write in."""
    return next((lang for lang in partner.languages if lang in TEXT), Language.EN.value)


def reason_line(item: AwareItem, lang: str) -> str:
    """One line of why, in `lang`: the manager's pin or the engine's strongest reason, and
    the stages the asset ranked for."""
    phrases = REASONS[lang]
    first = TEXT[lang]["pinned"] if item.pinned else None
    if first is None:
        first = next((phrases[r.code] for r in item.reasons if r.code in phrases), None)
    stages = ", ".join(STAGES[lang].get(s, s) for s in item.stages[:3])
    where = TEXT[lang]["stages"].format(stages=stages) if stages else None
    return " · ".join(p for p in (first, where) if p)


def build_digest(
    snapshot: Snapshot,
    partner: PartnerProfile,
    *,
    opened: frozenset[str] | set[str],
    already_sent: frozenset[str] | set[str] = frozenset(),
    since: datetime | None = None,
    n: int = DEFAULT_ITEMS,
    signer: LinkSigner | None = None,
    base_url: str | None = None,
    now: datetime | None = None,
    digest_id: str | None = None,
    published: dict[str, date] | None = None,
) -> PartnerDigest:
    """The digest for `partner` (see the module docstring). With `signer` and `base_url`,
    each item links through `{base_url}/r/{token}`; `published` (each asset's publication
    day, `_published`) is read from the snapshot when not given."""
    if partner.partner_id is None:
        raise ValueError("a digest is for a stored partner (it has no partner_id)")
    if n < 1:
        raise ValueError(f"n={n} must be at least 1")
    now = now or datetime.now(UTC)
    digest_id = digest_id or new_digest_id(now)
    lang = digest_language(partner)
    skip = set(opened) | set(already_sent)
    ranked, _ = awareness(
        snapshot, partner, skip, limit=None, languages=tuple(partner.languages), now=now
    )
    published = _published(snapshot) if published is None else published
    since_day = since.date() if since is not None else None

    def is_new(item: AwareItem) -> bool:
        day = published.get(item.asset_id)
        return since_day is not None and day is not None and day >= since_day

    ranked.sort(key=lambda i: (not i.pinned, not is_new(i), -i.relevance, i.asset_id))
    root = base_url.rstrip("/") if base_url else ""

    def link(asset_id: str) -> str | None:
        """The tracked link of `asset_id` (None without a signer and an address)."""
        if signer is None or not root:
            return None
        token = signer.token(asset_id=asset_id, partner_id=str(partner.partner_id),
                             source="digest", source_id=digest_id, now=now)  # fmt: skip
        return f"{root}/r/{token}"

    items = []
    for aware in ranked[:n]:
        url = web_url(aware.url)
        items.append(
            DigestItem(
                asset_id=aware.asset_id,
                title=aware.title,
                type=aware.type,
                language=aware.language,
                url=url,
                link=(link(aware.asset_id) if url else None) or url,
                reason=reason_line(aware, lang),
                new=is_new(aware),
                pinned=aware.pinned,
                relevance=aware.relevance,
            )
        )
    return PartnerDigest(
        digest_id=digest_id,
        partner_id=partner.partner_id,
        partner_name=partner.name or partner.partner_id,
        manager=partner.manager,
        language=lang,
        created_at=now,
        since=since,
        items=tuple(items),
    )


def build_digests(
    snapshot: Snapshot,
    partners: Sequence[PartnerProfile],
    store: DigestStore,
    opened: Callable[[str], frozenset[str] | set[str]],
    *,
    since: datetime | None = None,
    n: int = DEFAULT_ITEMS,
    signer: LinkSigner | None = None,
    base_url: str | None = None,
    now: datetime | None = None,
) -> list[PartnerDigest]:
    """A digest per partner: what `opened(partner_id)` says it opened and what earlier
    digests in `store` sent are left out; "new" counts from `since`, else from the
    partner's last digest."""
    now = now or datetime.now(UTC)
    published = _published(snapshot)  # once for all partners
    out = []
    for partner in partners:
        assert partner.partner_id is not None
        sent = store.list([partner.partner_id])  # newest first: one read gives both
        digest = build_digest(
            snapshot, partner, opened=opened(partner.partner_id),
            already_sent={a for record in sent for a in record.asset_ids},
            since=since if since is not None else (sent[0].created_at if sent else None),
            n=n, signer=signer, base_url=base_url, now=now, published=published,
        )  # fmt: skip
        out.append(digest)
    return out


def record(store: DigestStore, digests: Sequence[PartnerDigest], *, actor: str, fmt: str) -> None:
    """Store the digests as sent (the next ones leave their assets out)."""
    store.record([d.record(created_by=actor, fmt=fmt) for d in digests], actor=actor)


# --- rendering ----------------------------------------------------------------------------------
def render(digests: Sequence[PartnerDigest], fmt: str) -> str:
    """The digests as `fmt`: "md" (Markdown), "html" (a fragment: one <section> per partner)
    or "json"."""
    if fmt == "json":
        doc = {
            "generated_at": (digests[0].created_at if digests else datetime.now(UTC)).isoformat(
                timespec="seconds"
            ),
            "digests": [d.to_dict() for d in digests],
        }
        return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if fmt == "md":
        return "\n".join(_markdown(d) for d in digests)
    if fmt == "html":
        return "\n".join(_html(d) for d in digests)
    raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")


def _kind(item: DigestItem, lang: str) -> str:
    kind = TYPES[lang].get(item.type, item.type.replace("_", " "))
    if item.language and item.language != lang:
        language = LANGUAGE_NAMES[lang].get(item.language, item.language)
        kind += ", " + TEXT[lang]["in"].format(language=language)
    return kind


def _markdown(d: PartnerDigest) -> str:
    t = TEXT[d.language]
    lines = [f"## {_md(t['title'].format(partner=d.partner_name))}", ""]
    if not d.items:
        return "\n".join([*lines, t["none"], ""])
    lines += [t["intro"].format(n=len(d.items)), ""]
    for k, item in enumerate(d.items, start=1):
        title = _md(item.title)
        head = f"[{title}]({_md_url(item.link)})" if item.link else title
        new = f" · **{t['new']}**" if item.new else ""
        lines.append(f"{k}. **{head}** — {_md(_kind(item, d.language))}{new}  ")
        lines.append(f"   {_md(item.reason)}")
    return "\n".join([*lines, ""])


def _html(d: PartnerDigest) -> str:
    t = TEXT[d.language]
    e = html.escape
    out = [
        f'<section class="digest" lang="{e(d.language)}" data-partner-id="{e(d.partner_id)}" '
        f'data-digest-id="{e(d.digest_id)}">',
        f"<h2>{e(t['title'].format(partner=d.partner_name))}</h2>",
    ]
    if not d.items:
        out += [f"<p>{e(t['none'])}</p>", "</section>"]
        return "\n".join(out)
    out += [f"<p>{e(t['intro'].format(n=len(d.items)))}</p>", "<ol>"]
    for item in d.items:
        title = e(item.title)
        head = f'<a href="{e(item.link)}">{title}</a>' if item.link else title
        new = f" <strong>{e(t['new'])}</strong>" if item.new else ""
        out.append(
            f'<li data-asset-id="{e(item.asset_id)}">{head} <span>({e(_kind(item, d.language))})'
            f"</span>{new}<br><small>{e(item.reason)}</small></li>"
        )
    out += ["</ol>", "</section>"]
    return "\n".join(out)


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]()#<>|"})


def _md_url(url: str) -> str:
    """A link target that cannot end the Markdown link early."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _md(text: str) -> str:
    """Text with Markdown's markup characters escaped, so a title cannot make a link."""
    return text.translate(_MD_SPECIAL)


def _published(snapshot: Snapshot) -> dict[str, date]:
    """Each asset's publication day (assets without one are never "new")."""
    assets = snapshot.catalog.assets
    if "published_at" not in assets:
        return {}
    days = pd.to_datetime(assets["published_at"], errors="coerce")
    return {
        str(a): d.date() for a, d in zip(assets["asset_id"], days, strict=True) if not pd.isna(d)
    }
