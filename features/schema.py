"""Allowed values and table contracts, declared once.

Every enum here is used by validation, the API schema and the console, so a new stage or asset
type is added in exactly one place. Ordered enums (maturity, tier, depth) expose `rank` so that
"at least gold" or "maturity distance" is arithmetic, not string comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Stage(StrEnum):
    """Deal stage, in the order a deal moves through them."""

    PROSPECTING = "prospecting"
    QUALIFICATION = "qualification"
    DISCOVERY = "discovery"
    SOLUTION = "solution"  # solution design / proposal
    NEGOTIATION = "negotiation"
    CLOSING = "closing"
    POST_SALE = "post_sale"


class Maturity(StrEnum):
    """How far a partner has developed its practice (ordered, new first)."""

    NEW = "new"
    DEVELOPING = "developing"
    ESTABLISHED = "established"
    ADVANCED = "advanced"
    STRATEGIC = "strategic"


class Tier(StrEnum):
    """Commercial partner level (ordered, lowest first)."""

    REGISTERED = "registered"
    SILVER = "silver"
    GOLD = "gold"
    PLATINUM = "platinum"


class Depth(StrEnum):
    """How much prior knowledge an asset assumes (ordered, basic first)."""

    BASIC = "basic"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"
    EXPERT = "expert"


class AssetType(StrEnum):
    WHITE_PAPER = "white_paper"
    ARTICLE = "article"  # thought leadership
    CASE_STUDY = "case_study"
    ROI_CALCULATOR = "roi_calculator"
    TCO_CALCULATOR = "tco_calculator"
    TECH_COMMERCIAL_CALCULATOR = "tech_commercial_calculator"
    BATTLECARD = "battlecard"
    DATASHEET = "datasheet"
    PRESENTATION = "presentation"
    WEBINAR = "webinar"
    TRAINING_COURSE = "training_course"
    ONBOARDING_GUIDE = "onboarding_guide"
    PLAYBOOK = "playbook"
    PROPOSAL_TEMPLATE = "proposal_template"
    REFERENCE_ARCHITECTURE = "reference_architecture"
    FAQ = "faq"


class Language(StrEnum):
    UK = "uk"
    RU = "ru"
    EN = "en"


class PartnerType(StrEnum):
    RESELLER = "reseller"
    INTEGRATOR = "integrator"
    DISTRIBUTOR = "distributor"
    SERVICE_PROVIDER = "service_provider"


class BuyerRole(StrEnum):
    CIO = "cio"
    CFO = "cfo"
    CTO = "cto"
    TECHNICAL_BUYER = "technical_buyer"
    BUSINESS_OWNER = "business_owner"
    PROCUREMENT = "procurement"
    END_USER = "end_user"


class AssetStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class EventType(StrEnum):
    IMPRESSION = "impression"  # carries request_id and position
    OPEN = "open"
    DOWNLOAD = "download"
    SHARE = "share"  # shared with a customer
    FEEDBACK = "feedback"  # value +1 / -1
    DEAL_OUTCOME = "deal_outcome"  # outcome won/lost, deal_id, amount


# The event types that are a partner's engagement with an asset, in declaration order: what
# labels grade, usage aggregates weigh and the journal counts as "seen" (plain strings, as
# they are stored).
ENGAGEMENT_TYPES: tuple[str, ...] = tuple(
    t.value for t in EventType if t in (EventType.OPEN, EventType.DOWNLOAD, EventType.SHARE)
)


class Arm(StrEnum):
    """Which side of an online experiment served an impression: the A/B arm, or the
    interleaving team that placed the slot (pinned slots belong to neither team)."""

    CONTROL = "control"
    TREATMENT = "treatment"
    PINNED = "pinned"


class Outcome(StrEnum):
    WON = "won"
    LOST = "lost"


def rank(value: StrEnum) -> int:
    """Position of an ordered enum member (0 = lowest): `rank(Tier.GOLD) == 2`."""
    return list(type(value)).index(value)


def values(enum: type[StrEnum]) -> list[str]:
    """The allowed string values of an enum, in declaration order."""
    return [member.value for member in enum]


# Identifiers: safe in URLs, file names and SQL without escaping.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
# Industries, products, regions, competitors: lowercase slugs.
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,47}$"


@dataclass(frozen=True)
class Column:
    """One column of a table contract.

    kind: "id", "str", "text", "enum", "enum_list", "slug", "slug_list", "date", "datetime",
    "int", "float", "bool".
    """

    name: str
    kind: str
    required: bool = True
    enum: type[StrEnum] | None = None
    min_value: float | None = None
    max_value: float | None = None
    max_length: int | None = None
    nullable: bool = False
    # min_value itself is not allowed (a probability of a shown item must be above 0)
    exclusive_min: bool = False


@dataclass(frozen=True)
class TableContract:
    name: str
    key: str | None
    columns: tuple[Column, ...]
    # Column pairs (earlier, later) where the later date must not precede the earlier one.
    ordered_dates: tuple[tuple[str, str], ...] = field(default=())

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


ASSETS = TableContract(
    name="assets",
    key="asset_id",
    columns=(
        Column("asset_id", "id"),
        Column("title", "str", max_length=300),
        Column("type", "enum", enum=AssetType),
        Column("language", "enum", enum=Language, required=False, nullable=True),
        Column("summary", "text", max_length=5000),
        Column("body", "text", required=False, nullable=True, max_length=2_000_000),
        Column("products", "slug_list", required=False),
        Column("industries", "slug_list", required=False),
        Column("stages", "enum_list", enum=Stage, required=False),
        Column("maturities", "enum_list", enum=Maturity, required=False),
        Column("depth", "enum", enum=Depth, required=False, nullable=True),
        Column("buyer_roles", "enum_list", enum=BuyerRole, required=False),
        Column("competitors", "slug_list", required=False),
        Column("regions", "slug_list", required=False),
        Column("min_tier", "enum", enum=Tier, required=False, nullable=True),
        Column("status", "enum", enum=AssetStatus, required=False, nullable=True),
        Column("url", "str", required=False, nullable=True, max_length=2000),
        Column("document", "str", required=False, nullable=True, max_length=500),
        Column("published_at", "date", required=False, nullable=True),
        Column("expires_at", "date", required=False, nullable=True),
        # translations and versions of one asset share a family: a list shows one member
        Column("family_id", "id", required=False, nullable=True),
    ),
    ordered_dates=(("published_at", "expires_at"),),
)

PARTNERS = TableContract(
    name="partners",
    key="partner_id",
    columns=(
        Column("partner_id", "id"),
        Column("name", "str", max_length=200),
        Column("tier", "enum", enum=Tier),
        Column("maturity", "enum", enum=Maturity),
        Column("type", "enum", enum=PartnerType),
        Column("industries", "slug_list", required=False),
        Column("regions", "slug_list", required=False),
        Column("languages", "enum_list", enum=Language, required=False),
        Column("certified_products", "slug_list", required=False),
        Column("joined_at", "date", required=False, nullable=True),
        # who looks after the partner: the channel manager's name or id (the console's
        # portfolio and `recommender digest --manager` select by it)
        Column("manager", "str", required=False, nullable=True, max_length=200),
    ),
)

DEALS = TableContract(
    name="deals",
    key="deal_id",
    columns=(
        Column("deal_id", "id"),
        Column("partner_id", "id"),
        Column("stage", "enum", enum=Stage),
        Column("industry", "slug", required=False, nullable=True),
        Column("products", "slug_list", required=False),
        Column("size", "float", required=False, nullable=True, min_value=0),
        Column("competitors", "slug_list", required=False),
        Column("buyer_role", "enum", enum=BuyerRole, required=False, nullable=True),
        Column("notes", "text", required=False, nullable=True, max_length=5000),
        Column("language", "enum", enum=Language, required=False, nullable=True),
        Column("created_at", "datetime", required=False, nullable=True),
    ),
)

EVENTS = TableContract(
    name="events",
    key="event_id",
    columns=(
        Column("event_id", "id"),
        Column("ts", "datetime"),
        Column("type", "enum", enum=EventType),
        Column("partner_id", "id"),
        Column("asset_id", "id", required=False, nullable=True),
        Column("deal_id", "id", required=False, nullable=True),
        Column("request_id", "str", required=False, nullable=True, max_length=64),
        Column("position", "int", required=False, nullable=True, min_value=0, max_value=1000),
        Column("stage", "enum", enum=Stage, required=False, nullable=True),
        Column("value", "float", required=False, nullable=True, min_value=-1, max_value=1),
        Column("outcome", "enum", enum=Outcome, required=False, nullable=True),
        Column("amount", "float", required=False, nullable=True, min_value=0),
        # Impressions only: the probability that the serving policy put this asset in this
        # slot, and that it showed this asset anywhere in the response (>= the first).
        Column(
            "propensity",
            "float",
            required=False,
            nullable=True,
            min_value=0,
            max_value=1,
            exclusive_min=True,
        ),
        Column(
            "propensity_shown",
            "float",
            required=False,
            nullable=True,
            min_value=0,
            max_value=1,
            exclusive_min=True,
        ),
        # Impressions served inside an online experiment: its name, and the arm (A/B) or team
        # (interleaving) that served the slot.
        Column("experiment", "id", required=False, nullable=True),
        Column("arm", "enum", enum=Arm, required=False, nullable=True),
    ),
)

CONTRACTS = {c.name: c for c in (ASSETS, PARTNERS, DEALS, EVENTS)}

# Event types that need an asset, and extra fields each event type needs.
EVENT_NEEDS_ASSET = frozenset(
    {EventType.IMPRESSION, EventType.OPEN, EventType.DOWNLOAD, EventType.SHARE, EventType.FEEDBACK}
)
EVENT_REQUIRED_FIELDS: dict[EventType, tuple[str, ...]] = {
    EventType.IMPRESSION: ("asset_id", "request_id", "position"),
    EventType.OPEN: ("asset_id",),
    EventType.DOWNLOAD: ("asset_id",),
    EventType.SHARE: ("asset_id",),
    EventType.FEEDBACK: ("asset_id", "value"),
    EventType.DEAL_OUTCOME: ("deal_id", "outcome"),
}
