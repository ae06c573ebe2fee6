"""Pure functions over pandas/numpy: schema enums, table validation, features, labels.

Imports no other project package.
"""

from features.schema import (
    ASSETS,
    CONTRACTS,
    DEALS,
    ENGAGEMENT_TYPES,
    EVENTS,
    PARTNERS,
    AssetStatus,
    AssetType,
    BuyerRole,
    Column,
    Depth,
    EventType,
    Language,
    Maturity,
    Outcome,
    PartnerType,
    Stage,
    TableContract,
    Tier,
    rank,
    values,
)
from features.validation import Problem, SchemaError, check_table, split_list, validate_table

__all__ = [
    "ASSETS",
    "CONTRACTS",
    "DEALS",
    "ENGAGEMENT_TYPES",
    "EVENTS",
    "PARTNERS",
    "AssetStatus",
    "AssetType",
    "BuyerRole",
    "Column",
    "Depth",
    "EventType",
    "Language",
    "Maturity",
    "Outcome",
    "PartnerType",
    "Problem",
    "SchemaError",
    "Stage",
    "TableContract",
    "Tier",
    "check_table",
    "rank",
    "split_list",
    "validate_table",
    "values",
]
