"""Where an export goes: a file (CSV or Parquet, by its suffix) or a table on the
analytics engine (``TABLE`` or ``analytics:TABLE``) or the operational database
(``db:TABLE``). Pure: parses and checks names, touches nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from keepwell.core.errors import InputError

_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class TargetKind(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    ANALYTICS = "analytics"
    DATABASE = "db"


@dataclass(frozen=True)
class Target:
    """A parsed ``--to``: its kind, and the file path or the table name."""

    kind: TargetKind
    location: str

    @property
    def is_file(self) -> bool:
        return self.kind in (TargetKind.CSV, TargetKind.PARQUET)

    def __str__(self) -> str:
        return self.location if self.is_file else f"{self.kind}:{self.location}"


def parse_target(text: str) -> Target:
    """``scores.csv`` / ``out/scores.parquet`` (files), ``kw_scores`` or
    ``analytics:kw_scores`` (a table on the analytics engine), ``db:kw_scores`` (a table
    of the operational database). Raises :class:`InputError` for anything else."""
    suffix = Path(text).suffix.lower()
    if suffix in (".csv", ".parquet"):
        return Target(TargetKind(suffix[1:]), text)
    prefix, sep, name = text.partition(":")
    if not sep:
        prefix, name = TargetKind.ANALYTICS.value, text
    if prefix in (TargetKind.ANALYTICS.value, TargetKind.DATABASE.value) and _TABLE.fullmatch(name):
        return Target(TargetKind(prefix), name)
    raise InputError(
        f"--to {text!r} is neither a .csv/.parquet file nor a table name",
        hint="use scores.parquet, scores.csv, TABLE, analytics:TABLE or db:TABLE "
        "(table names: letters, digits and _)",
    )
