"""The emulator's data: users and SMTP proxy addresses in SQLite.

One connection, guarded by a lock, serves every thread. Text columns that CUPI compares
without regard to case (aliases, addresses, ObjectIds) are ``COLLATE NOCASE`` so that
equality, ``LIKE`` prefixes and uniqueness are all case-insensitive and indexed.
Objects come back as CUPI field names mapped to text; encoding them is the wire layer's job.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    seq INTEGER PRIMARY KEY,
    object_id TEXT NOT NULL UNIQUE COLLATE NOCASE,
    alias TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
    first_name TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
    last_name TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
    dtmf_access_id TEXT NOT NULL UNIQUE COLLATE NOCASE,
    email_address TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
    smtp_address TEXT NOT NULL COLLATE NOCASE,
    location_object_id TEXT NOT NULL,
    create_smtp_proxy_from_corp INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS smtp_proxy_addresses (
    seq INTEGER PRIMARY KEY,
    object_id TEXT NOT NULL UNIQUE COLLATE NOCASE,
    smtp_address TEXT NOT NULL UNIQUE COLLATE NOCASE,
    global_user_object_id TEXT NOT NULL COLLATE NOCASE
);
CREATE INDEX IF NOT EXISTS smtp_proxy_addresses_owner
    ON smtp_proxy_addresses (global_user_object_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

LOCATION_OBJECT_ID = "0f5a7e3c-4b1e-4c43-9d2e-6b7c6a1e2f10"
SYSTEM_SMTP_DOMAIN = "cuc.example.com"


@dataclass(frozen=True)
class TableSpec:
    """A CUPI collection over a table: its fields as SQL expressions, its searchable columns.

    ``fields`` pairs each CUPI field name with the SQL expression that produces its text, so
    an object is ``dict(zip(names, row))`` with no per-field Python work. ``searchable`` maps
    a lower-cased CUPI column name to a SQL column, or to ``None`` for a CUPI column that
    exists but is never set here (a contact owner, say): it matches nothing.
    """

    table: str
    fields: tuple[tuple[str, str], ...]
    searchable: dict[str, str | None]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fields)

    @property
    def select_list(self) -> str:
        return ", ".join(expression for _, expression in self.fields)

    @property
    def json_object(self) -> str:
        """A SQL expression giving one row as a JSON object of strings, in field order."""
        pairs = ", ".join(f"'{name}', {expression}" for name, expression in self.fields)
        return f"json_object({pairs})"


_USER_COMMON = (
    ("ObjectId", "object_id"),
    ("Alias", "alias"),
    ("DisplayName", "display_name"),
    ("FirstName", "first_name"),
    ("LastName", "last_name"),
    ("DtmfAccessId", "dtmf_access_id"),
    ("EmailAddress", "email_address"),
    ("SmtpAddress", "smtp_address"),
    ("LocationObjectId", "location_object_id"),
)
_USER_SEARCHABLE: dict[str, str | None] = {
    "objectid": "object_id",
    "alias": "alias",
    "displayname": "display_name",
    "firstname": "first_name",
    "lastname": "last_name",
    "dtmfaccessid": "dtmf_access_id",
    "emailaddress": "email_address",
}

USERS_TABLE = TableSpec(
    table="users",
    fields=(
        ("URI", "'/vmrest/users/' || object_id"),
        *_USER_COMMON,
        (
            "CreateSmtpProxyFromCorp",
            "CASE create_smtp_proxy_from_corp WHEN 0 THEN 'false' ELSE 'true' END",
        ),
        (
            "SmtpProxyAddressesURI",
            "'/vmrest/smtpproxyaddresses?query=(ObjectGlobalUserObjectId%20is%20' "
            "|| object_id || ')'",
        ),
    ),
    searchable=_USER_SEARCHABLE,
)

GLOBAL_USERS_TABLE = TableSpec(
    table="users",
    fields=(("URI", "'/vmrest/globalusers/' || object_id"), *_USER_COMMON),
    searchable=_USER_SEARCHABLE,
)

ADDRESSES_TABLE = TableSpec(
    table="smtp_proxy_addresses",
    fields=(
        ("URI", "'/vmrest/smtpproxyaddresses/' || object_id"),
        ("ObjectId", "object_id"),
        ("SmtpAddress", "smtp_address"),
        ("ObjectGlobalUserObjectId", "global_user_object_id"),
        ("ObjectGlobalUserURI", "'/vmrest/globalusers/' || global_user_object_id"),
    ),
    searchable={
        "objectid": "object_id",
        "smtpaddress": "smtp_address",
        "objectglobaluserobjectid": "global_user_object_id",
        "objectcontactobjectid": None,
        "objectdistributionlistobjectid": None,
        "objectpersonalgroupobjectid": None,
    },
)


@dataclass(frozen=True)
class Criterion:
    """``(column is value)`` or ``(column startswith value)``; column already resolved."""

    column: str | None
    operator: str  # "is" | "startswith"
    value: str


@dataclass(frozen=True)
class Order:
    column: str
    descending: bool


class DuplicateError(Exception):
    """A unique column would hold the same value twice (compared without case)."""

    def __init__(self, column: str, value: str) -> None:
        super().__init__(f"{column} {value!r} already exists")
        self.column = column
        self.value = value


def _like_prefix(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def new_object_id() -> str:
    return str(uuid.uuid4())


class Store:
    """The emulator's database. Every method is safe to call from any thread."""

    def __init__(self, path: str = ":memory:") -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._generation = 0  # bumped by every write: remembered page ends go stale
        self._resume: dict[tuple[object, ...], int] = {}

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        with self._lock:
            self._generation += 1
            self._resume.clear()
            yield

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def is_empty(self) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM smtp_proxy_addresses)"
            ).fetchone()
        return bool(row[0] == 0)

    # -- reading ---------------------------------------------------------------------------

    def _where(self, spec: TableSpec, criterion: Criterion | None) -> tuple[str, list[str]]:
        if criterion is None:
            return "", []
        if criterion.column is None:
            return " WHERE 0", []
        if criterion.operator == "is":
            return f" WHERE {criterion.column} = ?", [criterion.value]
        return f" WHERE {criterion.column} LIKE ? ESCAPE '\\'", [_like_prefix(criterion.value)]

    def count(self, spec: TableSpec, criterion: Criterion | None = None) -> int:
        where, params = self._where(spec, criterion)
        with self._lock:
            row = self._db.execute(f"SELECT COUNT(*) FROM {spec.table}{where}", params).fetchone()
        return int(row[0])

    def _page(
        self,
        spec: TableSpec,
        select_list: str,
        criterion: Criterion | None,
        order: Order | None,
        limit: int,
        offset: int,
    ) -> tuple[int, list[tuple[Any, ...]]]:
        """The total that match and one page of ``(seq, *select_list)`` rows, read in one
        consistent snapshot.

        Pages are ``LIMIT``/``OFFSET`` pages, as a real server's are (a row deleted from an
        earlier page between two requests shifts the rest). For the common walk through a
        collection page after page, the position where the previous page ended is
        remembered until the next write, so that page N+1 starts there instead of skipping
        N pages of rows again: paging stays linear in what the server holds.
        """
        where, params = self._where(spec, criterion)
        if order is None:
            order_by = "seq"
        else:
            order_by = f"{order.column} {'DESC' if order.descending else 'ASC'}, seq"
        with self._lock:
            total = self._db.execute(
                f"SELECT COUNT(*) FROM {spec.table}{where}", params
            ).fetchone()[0]
            resume_key = (spec.table, where, tuple(params), offset, self._generation)
            resume_after = self._resume.get(resume_key) if order is None else None
            if resume_after is not None:
                joiner = " AND" if where else " WHERE"
                sql = (
                    f"SELECT seq, {select_list} FROM {spec.table}{where}{joiner} "
                    "seq > ? ORDER BY seq LIMIT ?"
                )
                rows = self._db.execute(sql, [*params, resume_after, limit]).fetchall()
            else:
                sql = (
                    f"SELECT seq, {select_list} FROM {spec.table}{where} "
                    f"ORDER BY {order_by} LIMIT ? OFFSET ?"
                )
                rows = self._db.execute(sql, [*params, limit, offset]).fetchall()
            if order is None and rows:
                if len(self._resume) > 64:
                    self._resume.clear()
                end_key = (spec.table, where, tuple(params), offset + len(rows), self._generation)
                self._resume[end_key] = rows[-1][0]
        return int(total), rows

    def select(
        self,
        spec: TableSpec,
        criterion: Criterion | None,
        order: Order | None,
        limit: int,
        offset: int,
    ) -> tuple[int, list[dict[str, str]]]:
        """The total that match and one page of objects."""
        total, rows = self._page(spec, spec.select_list, criterion, order, limit, offset)
        names = spec.names
        return total, [dict(zip(names, row[1:], strict=True)) for row in rows]

    def select_json(
        self,
        spec: TableSpec,
        criterion: Criterion | None,
        order: Order | None,
        limit: int,
        offset: int,
    ) -> tuple[int, list[str]]:
        """The total that match and one page of objects, each already a JSON object text.

        SQLite writes the JSON, so a listing costs no Python work per row: the emulator's
        JSON pages are as cheap as encoding the rows at all.
        """
        total, rows = self._page(spec, spec.json_object, criterion, order, limit, offset)
        return total, [str(row[1]) for row in rows]

    def get(self, spec: TableSpec, object_id: str) -> dict[str, str] | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {spec.select_list} FROM {spec.table} WHERE object_id = ?", (object_id,)
            ).fetchone()
        return None if row is None else dict(zip(spec.names, row, strict=True))

    def user_exists(self, object_id: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM users WHERE object_id = ?", (object_id,)
            ).fetchone()
        return row is not None

    # -- writing ---------------------------------------------------------------------------

    def _duplicate(self, error: sqlite3.IntegrityError, values: dict[str, str]) -> DuplicateError:
        text = str(error)
        for column, value in values.items():
            if text.endswith(f".{column}"):
                return DuplicateError(column, value)
        return DuplicateError("value", "")

    def insert_user(
        self,
        *,
        object_id: str,
        alias: str,
        dtmf_access_id: str,
        display_name: str = "",
        first_name: str = "",
        last_name: str = "",
        email_address: str = "",
        create_smtp_proxy_from_corp: bool = False,
    ) -> str | None:
        """Add a user; returns the ObjectId of the proxy address the server made, if any.

        Like a real server, a user with ``CreateSmtpProxyFromCorp`` gets a proxy address
        equal to its corporate address (when that address is free).
        """
        values = {
            "object_id": object_id,
            "alias": alias,
            "dtmf_access_id": dtmf_access_id,
        }
        made: str | None = None
        with self._writing():
            try:
                self._db.execute("BEGIN")
                self._db.execute(
                    "INSERT INTO users (object_id, alias, display_name, first_name, last_name,"
                    " dtmf_access_id, email_address, smtp_address, location_object_id,"
                    " create_smtp_proxy_from_corp) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        object_id,
                        alias,
                        display_name,
                        first_name,
                        last_name,
                        dtmf_access_id,
                        email_address,
                        f"{alias}@{SYSTEM_SMTP_DOMAIN}",
                        LOCATION_OBJECT_ID,
                        int(create_smtp_proxy_from_corp),
                    ),
                )
                if create_smtp_proxy_from_corp and email_address:
                    taken = self._db.execute(
                        "SELECT 1 FROM smtp_proxy_addresses WHERE smtp_address = ?",
                        (email_address,),
                    ).fetchone()
                    if taken is None:
                        made = new_object_id()
                        self._db.execute(
                            "INSERT INTO smtp_proxy_addresses"
                            " (object_id, smtp_address, global_user_object_id) VALUES (?,?,?)",
                            (made, email_address, object_id),
                        )
                self._db.execute("COMMIT")
            except sqlite3.IntegrityError as error:
                self._db.execute("ROLLBACK")
                raise self._duplicate(error, values) from None
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return made

    def update_user(self, object_id: str, changes: dict[str, str | int]) -> bool:
        """Set columns of a user; False when there is no such user."""
        if not changes:
            return self.user_exists(object_id)
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self._writing():
            try:
                cursor = self._db.execute(
                    f"UPDATE users SET {assignments} WHERE object_id = ?",
                    [*changes.values(), object_id],
                )
            except sqlite3.IntegrityError as error:
                raise self._duplicate(error, {k: str(v) for k, v in changes.items()}) from None
        return cursor.rowcount > 0

    def delete_user(self, object_id: str) -> bool:
        """Remove a user and every address it owns; False when there is no such user."""
        with self._writing():
            self._db.execute("BEGIN")
            self._db.execute(
                "DELETE FROM smtp_proxy_addresses WHERE global_user_object_id = ?", (object_id,)
            )
            cursor = self._db.execute("DELETE FROM users WHERE object_id = ?", (object_id,))
            self._db.execute("COMMIT")
        return cursor.rowcount > 0

    def insert_address(self, object_id: str, smtp_address: str, owner_id: str) -> None:
        with self._writing():
            try:
                self._db.execute(
                    "INSERT INTO smtp_proxy_addresses"
                    " (object_id, smtp_address, global_user_object_id) VALUES (?,?,?)",
                    (object_id, smtp_address, owner_id),
                )
            except sqlite3.IntegrityError as error:
                raise self._duplicate(
                    error, {"smtp_address": smtp_address, "object_id": object_id}
                ) from None

    def update_address(
        self, object_id: str, smtp_address: str | None, owner_id: str | None
    ) -> bool:
        """Change an address's text and/or owner; False when there is no such object."""
        changes: dict[str, str] = {}
        if smtp_address is not None:
            changes["smtp_address"] = smtp_address
        if owner_id is not None:
            changes["global_user_object_id"] = owner_id
        with self._writing():
            if not changes:
                row = self._db.execute(
                    "SELECT 1 FROM smtp_proxy_addresses WHERE object_id = ?", (object_id,)
                ).fetchone()
                return row is not None
            assignments = ", ".join(f"{column} = ?" for column in changes)
            try:
                cursor = self._db.execute(
                    f"UPDATE smtp_proxy_addresses SET {assignments} WHERE object_id = ?",
                    [*changes.values(), object_id],
                )
            except sqlite3.IntegrityError as error:
                raise self._duplicate(error, changes) from None
        return cursor.rowcount > 0

    def delete_address(self, object_id: str) -> bool:
        with self._writing():
            cursor = self._db.execute(
                "DELETE FROM smtp_proxy_addresses WHERE object_id = ?", (object_id,)
            )
        return cursor.rowcount > 0

    # -- bulk loading (seeds) ----------------------------------------------------------------

    def bulk_load(
        self,
        users: Iterable[Sequence[object]],
        addresses: Iterable[Sequence[object]],
    ) -> None:
        """Insert many users ``(object_id, alias, dtmf, display, first, last, email, from_corp)``
        and addresses ``(object_id, smtp_address, owner_id)`` in one transaction."""
        with self._writing():
            try:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT INTO users (object_id, alias, dtmf_access_id, display_name,"
                    " first_name, last_name, email_address, create_smtp_proxy_from_corp,"
                    " smtp_address, location_object_id)"
                    f" VALUES (?,?,?,?,?,?,?,?, ?2 || '@{SYSTEM_SMTP_DOMAIN}',"
                    f" '{LOCATION_OBJECT_ID}')",
                    users,
                )
                self._db.executemany(
                    "INSERT INTO smtp_proxy_addresses"
                    " (object_id, smtp_address, global_user_object_id) VALUES (?,?,?)",
                    addresses,
                )
                self._db.execute("COMMIT")
            except sqlite3.IntegrityError as error:
                self._db.execute("ROLLBACK")
                raise DuplicateError(str(error).rsplit(".", 1)[-1], "") from None
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
