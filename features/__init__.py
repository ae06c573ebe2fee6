"""Pure functions over pandas/numpy, shared by serving and training. Imports no other project
package.

    schema         allowed values (enums, ENGAGEMENT_TYPES) and table contracts
    validation     tables checked against their contracts
    timebase       the one day clock (days since 2000-01-01) and its conversions
    eligibility    the one mask of what a partner may be shown on a day
    pairs          the catalog as codes, (context, asset) pair features
    point_in_time  per-key sums of event weights before a time
    usage          usage features from the event log, point-in-time correct
    labels         graded engagement: training labels and evaluation judgements
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
