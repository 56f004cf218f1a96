"""CUPI query strings: ``query=(column is value)``, ``(column startswith value)``, paging.

CUPI takes one criterion per request. The server strips the outer parentheses and splits
the rest into column, operator and value at the first two runs of blanks, so a value may
hold blanks and parentheses; everything else that a query string gives meaning to
(``&``, ``+``, ``#``, ``%``, ``=``) is percent-encoded. Spaces are sent as ``%20``, as
Cisco's guide writes them (a ``+`` would also do, but means a plus to nobody).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from cupiform.resources.base import Collection

Operator = Literal["is", "startswith"]

# Kept as they are: the parentheses of the criterion and an address's "@" read better raw.
_SAFE = "()@"


@dataclass(frozen=True)
class Query:
    """One criterion on a searchable column of a collection."""

    column: str
    operator: Operator
    value: str

    def __post_init__(self) -> None:
        if self.operator not in ("is", "startswith"):
            raise ValueError(f"query operator must be 'is' or 'startswith', not {self.operator!r}")
        if not self.column or not self.column.isalnum():
            raise ValueError(f"query column must be a CUPI column name, not {self.column!r}")
        if not self.value or self.value != self.value.strip():
            # The server splits at blanks: leading or trailing ones cannot be sent.
            raise ValueError(f"query value must be non-empty with no outer blanks: {self.value!r}")
        if any(ord(c) < 32 or ord(c) == 127 for c in self.value):
            raise ValueError(f"query value must not hold control characters: {self.value!r}")

    @property
    def text(self) -> str:
        """The criterion as CUPI writes it, e.g. ``(Alias is jdoe)``."""
        return f"({self.column} {self.operator} {self.value})"

    def check(self, collection: Collection) -> Query:
        """This query, after making sure the collection can be searched on its column."""
        if self.column.lower() not in {name.lower() for name in collection.searchable}:
            raise ValueError(
                f"{self.column} is not a searchable column of {collection.path} "
                f"(searchable: {', '.join(collection.searchable)})"
            )
        return self


def is_(column: str, value: str) -> Query:
    """``(column is value)``: equality (the server compares text columns without case)."""
    return Query(column, "is", value)


def startswith(column: str, value: str) -> Query:
    """``(column startswith value)``: a prefix match."""
    return Query(column, "startswith", value)


def encode(value: str) -> str:
    """One query-string value, percent-encoded, spaces as ``%20``."""
    return quote(value, safe=_SAFE)


def query_string(
    query: Query | None = None,
    *,
    rows_per_page: int | None = None,
    page_number: int | None = None,
) -> str:
    """The query string (without ``?``) for a listing or a count."""
    parts: list[str] = []
    if query is not None:
        parts.append(f"query={encode(query.text)}")
    if rows_per_page is not None:
        parts.append(f"rowsPerPage={int(rows_per_page)}")
    if page_number is not None:
        parts.append(f"pageNumber={int(page_number)}")
    return "&".join(parts)
