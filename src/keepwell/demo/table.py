"""A plain in-memory table: column names and rows of Python values, before writing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

Cell = object


@dataclass
class Table:
    """Rows of one entity. Cells are str, int, bool, Decimal, date, datetime, list or None."""

    columns: tuple[str, ...]
    rows: Sequence[tuple[Cell, ...]] = field(default_factory=list)

    def sorted_by_first(self) -> Table:
        """The same table with rows ordered by the first column (the key)."""
        return Table(self.columns, sorted(self.rows, key=lambda row: str(row[0])))

    def column(self, name: str) -> list[Cell]:
        """All values of one column."""
        index = self.columns.index(name)
        return [row[index] for row in self.rows]
