"""Experiments as data: what runs, between which model versions, how and for whom.

An experiment compares a control and a treatment model version (`playbook` names the playbook
scorer) by team-draft interleaving or by an A/B split of partners, over a segment of partners
(`tier=gold,maturity=new|developing`; empty: every partner). The store keeps them in the
workspace's console database beside the overrides, each change audited in its own transaction
(`experiment.create`, `experiment.stop`). At most one experiment runs for a partner: a new
one is refused while a running one's segment can hold the same partner. A stopped experiment
stays stored (its report reads the journal), and its name cannot be used again.
"""

from __future__ import annotations

import builtins
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from features.schema import ID_PATTERN, Language, Maturity, PartnerType, Tier, values
from recommender.storage import audit
from recommender.types import PartnerProfile

PLAYBOOK = "playbook"
"""The version name of the playbook scorer (no model), as an arm of an experiment."""


class Method(StrEnum):
    INTERLEAVE = "interleave"
    AB = "ab"


class Status(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"


# partner attributes a segment may name, each with its allowed values (None: free text)
SEGMENT_KEYS: dict[str, tuple[str, ...] | None] = {
    "tier": tuple(values(Tier)),
    "maturity": tuple(values(Maturity)),
    "type": tuple(values(PartnerType)),
    "language": tuple(values(Language)),
    "region": None,
    "industry": None,
}


class ExperimentError(ValueError):
    """An experiment that cannot be created or changed; the message names what and why."""


class ExperimentConflict(ExperimentError):
    """Valid, but the stored experiments do not allow it: a taken name, a segment that
    overlaps a running experiment's, stopping one already stopped."""


@dataclass(frozen=True)
class Experiment:
    """One experiment as stored. `segment` maps a partner attribute to the values it admits
    (any of them); `share` is the treatment's share of partners in an A/B test."""

    name: str
    control: str
    treatment: str
    method: str
    share: float = 0.5
    segment: dict[str, tuple[str, ...]] = field(default_factory=dict)
    status: str = Status.RUNNING.value
    created_at: str = ""
    created_by: str = ""
    stopped_at: str | None = None
    stopped_by: str | None = None
    promoted: str | None = None  # the version promoted when it stopped, if any
    comment: str = ""

    @property
    def running(self) -> bool:
        return self.status == Status.RUNNING

    def matches(self, partner: PartnerProfile) -> bool:
        """Whether `partner` belongs to the segment."""
        for key, admitted in self.segment.items():
            if key in ("region", "industry", "language"):
                have = {"region": partner.regions, "industry": partner.industries,
                        "language": partner.languages}[key]  # fmt: skip
                if not set(have) & set(admitted):
                    return False
            elif getattr(partner, key) not in admitted:
                return False
        return True

    def overlaps(self, other: Experiment) -> bool:
        """Whether a partner could belong to both segments (each admits it): the segments
        are disjoint only when a single-valued attribute (tier, maturity, type) that both
        name admits no common value."""
        for key in ("tier", "maturity", "type"):
            mine, theirs = self.segment.get(key), other.segment.get(key)
            if mine is not None and theirs is not None and not set(mine) & set(theirs):
                return False
        return True

    def segment_text(self) -> str:
        """The segment as `create --segment` takes it ("" for every partner)."""
        return format_segment(self.segment)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["segment"] = {k: list(v) for k, v in self.segment.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Experiment:
        data = dict(data)
        data["segment"] = {k: tuple(v) for k, v in (data.get("segment") or {}).items()}
        return cls(**data)


def parse_segment(text: str | None) -> dict[str, tuple[str, ...]]:
    """`tier=gold,maturity=new|developing` as {"tier": ("gold",), "maturity": ("new",
    "developing")}; None or "" is every partner. Raises `ExperimentError` naming the part."""
    out: dict[str, tuple[str, ...]] = {}
    if not text or not text.strip():
        return out
    for part in text.split(","):
        key, sep, raw = part.strip().partition("=")
        key = key.strip()
        if not sep or not key or not raw.strip():
            raise ExperimentError(
                f"segment part {part.strip()!r} is not key=value (e.g. tier=gold,maturity=new)"
            )
        if key not in SEGMENT_KEYS:
            raise ExperimentError(
                f"segment key {key!r} is not a partner attribute; expected one of "
                f"{list(SEGMENT_KEYS)}"
            )
        if key in out:
            raise ExperimentError(f"segment key {key!r} is given twice; write {key}=a|b")
        admitted = tuple(dict.fromkeys(v.strip() for v in raw.split("|")))
        allowed = SEGMENT_KEYS[key]
        for value in admitted:
            if not value or (allowed is not None and value not in allowed):
                expected = f"one of {list(allowed)}" if allowed is not None else "a value"
                raise ExperimentError(f"segment {key}={value!r} is not valid; expected {expected}")
        out[key] = admitted
    return out


def format_segment(segment: Mapping[str, Sequence[str]]) -> str:
    """A segment as `parse_segment` reads it ("" for every partner)."""
    return ",".join(f"{k}={'|'.join(v)}" for k, v in segment.items())


def validate(
    *, name: str, control: str, treatment: str, method: str, share: float
) -> builtins.list[str]:
    """Problems with a proposed experiment's fields, each naming the field (empty: valid)."""
    problems = []
    if not isinstance(name, str) or not re.match(ID_PATTERN, name):
        problems.append(
            f"name={name!r} is not a valid name (letters, digits and _.:- , up to 64, "
            "starting with a letter or digit)"
        )
    for arm, version in (("control", control), ("treatment", treatment)):
        if not isinstance(version, str) or not version.strip():
            problems.append(f"{arm} is empty; name a model version (or {PLAYBOOK!r})")
    if control == treatment and control:
        problems.append(f"control and treatment are both {control!r}; compare two versions")
    if method not in values(Method):
        problems.append(f"method={method!r} is not valid; expected one of {values(Method)}")
    if (
        isinstance(share, bool)
        or not isinstance(share, (int, float))
        or not math.isfinite(share)
        or not 0.0 < share < 1.0
    ):
        problems.append(f"share={share!r} must be a number in (0, 1): the treatment's share")
    return problems


class ExperimentStore:
    """Experiments in the console database, every change audited with it."""

    def __init__(self, location: Path | str) -> None:
        self._db = audit.ConsoleDatabase(
            location,
            """
            CREATE TABLE IF NOT EXISTS experiments (
                name TEXT PRIMARY KEY, status TEXT NOT NULL, data TEXT NOT NULL);
            """,
        )

    def __enter__(self) -> ExperimentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def list(self, *, status: str | None = None) -> builtins.list[Experiment]:
        """Every experiment (or those with `status`), oldest first."""
        sql, params = "SELECT data FROM experiments", []
        if status is not None:
            sql, params = sql + " WHERE status = ?", [status]
        with self._db.read() as conn:
            rows = conn.execute(sql + f" ORDER BY {self._db.row_order}", params).fetchall()
        return [Experiment.from_dict(json.loads(r[0])) for r in rows]

    def running(self) -> builtins.list[Experiment]:
        return self.list(status=Status.RUNNING.value)

    def get(self, name: str) -> Experiment | None:
        with self._db.read() as conn:
            row = conn.execute("SELECT data FROM experiments WHERE name = ?", (name,)).fetchone()
        return None if row is None else Experiment.from_dict(json.loads(row[0]))

    def create(
        self,
        *,
        actor: str,
        name: str,
        control: str,
        treatment: str,
        method: str,
        share: float = 0.5,
        segment: str | dict[str, tuple[str, ...]] | None = None,
        comment: str = "",
    ) -> Experiment:
        """Store a running experiment; `ExperimentError` (nothing stored) when a field is
        invalid, the name is taken, or a running experiment's segment overlaps this one's.
        The caller checks first that both versions load (`recommender.experiments.live`)."""
        problems = validate(
            name=name, control=control, treatment=treatment, method=method, share=share
        )
        if problems:
            raise ExperimentError("; ".join(problems))
        parsed = segment if isinstance(segment, dict) else parse_segment(segment)
        experiment = Experiment(
            name=name,
            control=control.strip(),
            treatment=treatment.strip(),
            method=method,
            share=float(share),
            segment=parsed,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            created_by=actor,
            comment=comment,
        )
        # the lock: two replicas creating overlapping experiments at once must not both pass
        with self._db.write(lock="experiments") as conn:
            taken = conn.execute(
                "SELECT status FROM experiments WHERE name = ?", (name,)
            ).fetchone()
            if taken is not None:
                raise ExperimentConflict(
                    f"an experiment named {name!r} exists ({taken[0]}); choose another name"
                )
            for row in conn.execute(
                "SELECT data FROM experiments WHERE status = ?", (Status.RUNNING.value,)
            ).fetchall():
                other = Experiment.from_dict(json.loads(row[0]))
                if experiment.overlaps(other):
                    where = other.segment_text() or "every partner"
                    raise ExperimentConflict(
                        f"experiment {other.name!r} is running for {where}, which overlaps "
                        f"this segment ({experiment.segment_text() or 'every partner'}); "
                        "stop it first or choose a disjoint segment"
                    )
            conn.execute(
                "INSERT INTO experiments (name, status, data) VALUES (?, ?, ?)",
                (name, experiment.status, json.dumps(experiment.to_dict())),
            )
            audit.record(conn, actor, "experiment.create", name, experiment.to_dict())
        return experiment

    def stop(self, name: str, *, actor: str, promoted: str | None = None) -> Experiment:
        """Stop a running experiment (recording the version promoted with it, if any);
        `ExperimentError` when it is unknown or already stopped."""
        with self._db.write(lock="experiments") as conn:
            row = conn.execute("SELECT data FROM experiments WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise ExperimentError(f"no experiment named {name!r}")
            experiment = Experiment.from_dict(json.loads(row[0]))
            if not experiment.running:
                raise ExperimentConflict(
                    f"experiment {name!r} was stopped at {experiment.stopped_at}"
                )
            stopped = replace(
                experiment,
                status=Status.STOPPED.value,
                stopped_at=datetime.now(UTC).isoformat(timespec="seconds"),
                stopped_by=actor,
                promoted=promoted,
            )
            conn.execute(
                "UPDATE experiments SET status = ?, data = ? WHERE name = ?",
                (stopped.status, json.dumps(stopped.to_dict()), name),
            )
            detail: dict[str, object] = {"promoted": promoted} if promoted else {}
            audit.record(conn, actor, "experiment.stop", name, detail)
        return stopped

    def close(self) -> None:
        self._db.close()
