"""The emulator's core: one request in, one response out, over the SQLite store.

Everything a CUPI server does lives here, once, whatever carries the request: the
in-process httpx transport and the uvicorn server are both thin adapters around
``Emulator.handle``. That includes the faults (latency, the concurrency throttle, random
500s, POSTs that commit and then lose their connection), so in-process tests see the same
server as HTTP ones.

Besides ``/vmrest``, ``/emulator/stats`` (GET, reset with POST) and ``/emulator/faults``
(GET, POST a JSON object of settings) let tests observe and steer the emulator; they need
no credentials.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import random
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

from cupiform.emulator import wire
from cupiform.emulator.store import (
    ADDRESSES_TABLE,
    GLOBAL_USERS_TABLE,
    USERS_TABLE,
    Criterion,
    DuplicateError,
    Order,
    Store,
    TableSpec,
    new_object_id,
)
from cupiform.emulator.wire import BadRequest
from cupiform.resources.base import Collection
from cupiform.resources.smtp_proxy_address import SMTP_ADDRESS_MAX, SMTP_PROXY_ADDRESSES
from cupiform.resources.users import GLOBAL_USERS, USERS

DEFAULT_PAGE_SIZE = 2000
_MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class EmulatorRequest:
    """A request as the core sees it. Header names are lower-case."""

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    base_url: str = "http://127.0.0.1"
    timeout: float | None = None  # the client's read timeout, for in-process timeouts


@dataclass(frozen=True)
class EmulatorResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    drop_connection: bool = False  # committed, but the client must never see the answer
    timed_out: bool = False  # the answer came later than the client's timeout

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@dataclass(frozen=True)
class Faults:
    """What can go wrong, on purpose. Rates are in [0, 1]; counts arm the next N requests."""

    latency_ms: float = 0.0
    max_concurrent: int = 0
    busy_wait_ms: float = 100.0
    fail_rate: float = 0.0
    drop_post_rate: float = 0.0
    drop_next_posts: int = 0
    fail_next: int = 0
    html_next: int = 0
    owner_create_only: bool = False


@dataclass
class Stats:
    requests: int = 0
    credential_checks: int = 0
    sessions_created: int = 0
    throttled: int = 0
    injected_failures: int = 0
    dropped_posts: int = 0
    max_in_flight: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class _Throttle:
    """At most ``limit`` requests inside at once; a waiter gives up after ``wait`` seconds."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit) if limit > 0 else None

    def acquire(self, wait: float) -> bool:
        return True if self._slots is None else self._slots.acquire(timeout=wait)

    def release(self) -> None:
        if self._slots is not None:
            self._slots.release()


@dataclass(frozen=True)
class _Route:
    collection: Collection
    table: TableSpec
    methods_collection: tuple[str, ...]
    methods_object: tuple[str, ...]


_ROUTES = {
    "smtpproxyaddresses": _Route(
        SMTP_PROXY_ADDRESSES, ADDRESSES_TABLE, ("GET", "POST"), ("GET", "PUT", "DELETE")
    ),
    "users": _Route(USERS, USERS_TABLE, ("GET", "POST"), ("GET", "PUT", "DELETE")),
    "globalusers": _Route(GLOBAL_USERS, GLOBAL_USERS_TABLE, ("GET",), ("GET",)),
}

_USER_WRITABLE = {
    "DisplayName": "display_name",
    "FirstName": "first_name",
    "LastName": "last_name",
    "DtmfAccessId": "dtmf_access_id",
    "EmailAddress": "email_address",
}

_COOKIE = re.compile(r"(?:^|;)\s*JSESSIONID=([^;\s]+)")


class Emulator:
    """A CUPI server in a box. Thread-safe: any number of threads may call ``handle``."""

    def __init__(
        self,
        store: Store,
        *,
        username: str = "admin",
        password: str = "admin",
        faults: Faults | None = None,
        random_seed: int | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self.store = store
        self._username = username.encode()
        self._password = password.encode()
        self._faults = faults or Faults()
        self._throttle = _Throttle(self._faults.max_concurrent)
        self._dice = random.Random(random_seed)
        self._page_size = page_size
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, None] = OrderedDict()
        self._stats = Stats()
        self._in_flight = 0

    # -- steering, for tests ---------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._faults

    def set_faults(self, **changes: object) -> Faults:
        """Change fault settings while serving (unknown names raise ``TypeError``)."""
        with self._lock:
            self._faults = replace(self._faults, **changes)  # type: ignore[arg-type]
            if self._faults.max_concurrent != self._throttle.limit:
                self._throttle = _Throttle(self._faults.max_concurrent)
            return self._faults

    def stats(self) -> Stats:
        with self._lock:
            return replace(self._stats, by_status=dict(self._stats.by_status))

    def reset_stats(self) -> None:
        with self._lock:
            self._stats = Stats()

    def _bump(self, name: str) -> None:
        with self._lock:
            setattr(self._stats, name, getattr(self._stats, name) + 1)

    def _take(self, name: str) -> bool:
        """Consume one of an armed fault count; True when one was armed."""
        with self._lock:
            left = getattr(self._faults, name)
            if left <= 0:
                return False
            self._faults = replace(self._faults, **{name: left - 1})
            return True

    def _roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._dice.random() < rate

    # -- the entry point -------------------------------------------------------------------

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        with self._lock:
            self._stats.requests += 1
        if request.path.startswith("/emulator/"):
            response = self._admin(request)
        else:
            response = self._throttled(request)
        with self._lock:
            key = str(response.status)
            self._stats.by_status[key] = self._stats.by_status.get(key, 0) + 1
        return response

    def _throttled(self, request: EmulatorRequest) -> EmulatorResponse:
        as_json = wire.wants_json(request.headers.get("accept", ""))
        faults = self._faults
        throttle = self._throttle
        if not throttle.acquire(faults.busy_wait_ms / 1000):
            self._bump("throttled")
            return self._error(
                as_json,
                503,
                "SERVICE_UNAVAILABLE",
                "The server is busy; too many requests are being processed.",
            )
        with self._lock:
            self._in_flight += 1
            self._stats.max_in_flight = max(self._stats.max_in_flight, self._in_flight)
        try:
            timed_out = False
            if faults.latency_ms > 0:
                delay = faults.latency_ms / 1000
                if request.timeout is not None and delay > request.timeout:
                    time.sleep(request.timeout)
                    timed_out = True
                else:
                    time.sleep(delay)
            response = self._serve(request, as_json)
            if timed_out:
                response = replace(response, timed_out=True)
            return response
        finally:
            with self._lock:
                self._in_flight -= 1
            throttle.release()

    def _serve(self, request: EmulatorRequest, as_json: bool) -> EmulatorResponse:
        if self._take("html_next"):
            self._bump("injected_failures")
            return EmulatorResponse(
                500, (("Content-Type", "text/html;charset=utf-8"),), wire.TOMCAT_500
            )
        if self._take("fail_next") or self._roll(self._faults.fail_rate):
            self._bump("injected_failures")
            return self._error(
                as_json,
                500,
                "INTERNAL_ERROR",
                "An unexpected error occurred while processing the request.",
            )
        cookies: list[tuple[str, str]] = []
        if not self._has_session(request):
            denied = self._authenticate(request, as_json)
            if denied is not None:
                return denied
            cookies = self._new_session(request)
        try:
            response = self._route(request, as_json)
        except BadRequest as bad:
            response = self._error(as_json, bad.status, bad.code, str(bad))
        if cookies:
            response = replace(response, headers=response.headers + tuple(cookies))
        return response

    # -- authentication and sessions --------------------------------------------------------

    def _has_session(self, request: EmulatorRequest) -> bool:
        match = _COOKIE.search(request.headers.get("cookie", ""))
        if match is None:
            return False
        with self._lock:
            if match.group(1) in self._sessions:
                self._sessions.move_to_end(match.group(1))
                return True
        return False

    def _authenticate(self, request: EmulatorRequest, as_json: bool) -> EmulatorResponse | None:
        header = request.headers.get("authorization", "")
        denied = self._error(
            as_json,
            401,
            "AUTHENTICATION_FAILED",
            "Authentication failed: missing or wrong credentials.",
        )
        denied = replace(
            denied, headers=(*denied.headers, ("WWW-Authenticate", 'Basic realm="Cisco System"'))
        )
        if not header.lower().startswith("basic "):
            return denied
        self._bump("credential_checks")
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            return denied
        user, _, password = decoded.partition(b":")
        good = hmac.compare_digest(user, self._username) & hmac.compare_digest(
            password, self._password
        )
        return None if good else denied

    def _new_session(self, request: EmulatorRequest) -> list[tuple[str, str]]:
        session = secrets.token_hex(16).upper()
        with self._lock:
            self._sessions[session] = None
            while len(self._sessions) > _MAX_SESSIONS:
                self._sessions.popitem(last=False)
            self._stats.sessions_created += 1
        secure = "; Secure" if request.base_url.startswith("https:") else ""
        return [
            (
                "Set-Cookie",
                f"JSESSIONIDSSO={secrets.token_hex(16).upper()}; Path=/{secure}; HttpOnly",
            ),
            ("Set-Cookie", f"JSESSIONID={session}; Path=/vmrest{secure}; HttpOnly"),
            ("Set-Cookie", f"REQUEST_TOKEN_KEY={secrets.randbelow(10**18)}; Path=/{secure}"),
        ]

    # -- answers ----------------------------------------------------------------------------

    @staticmethod
    def _error(as_json: bool, status: int, code: str, message: str) -> EmulatorResponse:
        content_type = wire.JSON_TYPE if as_json else wire.XML_TYPE
        return EmulatorResponse(
            status, (("Content-Type", content_type),), wire.encode_error(as_json, code, message)
        )

    @staticmethod
    def _ok(as_json: bool, body: bytes, status: int = 200) -> EmulatorResponse:
        content_type = wire.JSON_TYPE if as_json else wire.XML_TYPE
        return EmulatorResponse(status, (("Content-Type", content_type),), body)

    # -- /vmrest routing --------------------------------------------------------------------

    def _route(self, request: EmulatorRequest, as_json: bool) -> EmulatorResponse:
        parts = request.path.rstrip("/").split("/")
        # ["", "vmrest", collection] or ["", "vmrest", collection, object_id]
        if len(parts) not in (3, 4) or parts[1] != "vmrest" or parts[2] not in _ROUTES:
            return self._error(
                as_json, 404, "NOT_FOUND", f"No resource is found at {request.path}."
            )
        route = _ROUTES[parts[2]]
        method = request.method.upper()
        allowed = route.methods_collection if len(parts) == 3 else route.methods_object
        if method not in allowed:
            response = self._error(
                as_json, 405, "METHOD_NOT_ALLOWED", f"{method} is not allowed on {request.path}."
            )
            return replace(response, headers=(*response.headers, ("Allow", ", ".join(allowed))))
        fields_in: dict[str, str] = {}
        if method in ("POST", "PUT"):
            content_type = request.headers.get("content-type", "")
            if not content_type:
                return self._error(
                    as_json,
                    415,
                    "UNSUPPORTED_MEDIA_TYPE",
                    "The request has a body but no Content-Type.",
                )
            fields_in = wire.decode_body(content_type, request.body)
        if len(parts) == 3:
            if method == "GET":
                return self._list(route, request, as_json)
            if route.collection is SMTP_PROXY_ADDRESSES:
                return self._create_address(fields_in, request)
            return self._create_user(fields_in, request)
        object_id = parts[3]
        if method == "GET":
            row = self.store.get(route.table, object_id)
            if row is None:
                return self._not_found(as_json, route, object_id)
            return self._ok(as_json, wire.encode_item(as_json, route.collection, row))
        if method == "DELETE":
            deleted = (
                self.store.delete_address(object_id)
                if route.collection is SMTP_PROXY_ADDRESSES
                else self.store.delete_user(object_id)
            )
            if not deleted:
                return self._not_found(as_json, route, object_id)
            return EmulatorResponse(204, (), b"")
        if route.collection is SMTP_PROXY_ADDRESSES:
            return self._update_address(object_id, fields_in)
        return self._update_user(object_id, fields_in)

    def _not_found(self, as_json: bool, route: _Route, object_id: str) -> EmulatorResponse:
        return self._error(
            as_json,
            404,
            "NOT_FOUND",
            f"{route.collection.item_element} with ObjectId {object_id} was not found.",
        )

    def _list(self, route: _Route, request: EmulatorRequest, as_json: bool) -> EmulatorResponse:
        params = wire.query_params(request.query)
        criterion: Criterion | None = None
        query_column = None
        if params.get("query"):
            column, operator, value = wire.parse_criterion(params["query"])
            query_column = column.lower()
            criterion = Criterion(self._column(route, column), operator, value)
        order: Order | None = None
        if params.get("sort"):
            column, descending = wire.parse_sort(params["sort"])
            if query_column is not None and column.lower() != query_column:
                raise BadRequest(
                    f"with a query, the sort column must be the query column "
                    f"({column} is not {query_column})"
                )
            sql_column = self._column(route, column)
            order = Order(sql_column or "seq", descending)
        rows_per_page = self._paging_number(params, "rowsPerPage", self._page_size)
        page_number = self._paging_number(params, "pageNumber", 1)
        if rows_per_page == 0 or page_number == 0:
            total = self.store.count(route.table, criterion)
            return self._ok(as_json, wire.encode_list(as_json, route.collection, total, None))
        offset = (page_number - 1) * rows_per_page
        if as_json:
            total, objects = self.store.select_json(
                route.table, criterion, order, rows_per_page, offset
            )
            return self._ok(True, wire.encode_json_list(route.collection, total, objects))
        total, items = self.store.select(route.table, criterion, order, rows_per_page, offset)
        return self._ok(as_json, wire.encode_list(as_json, route.collection, total, items))

    @staticmethod
    def _column(route: _Route, column: str) -> str | None:
        key = column.lower()
        if key not in route.table.searchable:
            raise BadRequest(f"{column} is not a searchable column of {route.collection.path}")
        return route.table.searchable[key]

    @staticmethod
    def _paging_number(params: Mapping[str, str], name: str, default: int) -> int:
        if name not in params:
            return default
        try:
            number = int(params[name])
        except ValueError:
            raise BadRequest(f"{name} must be a whole number, not {params[name]!r}") from None
        if number < 0:
            raise BadRequest(f"{name} must not be negative")
        return number

    # -- addresses ------------------------------------------------------------------------

    @staticmethod
    def _check_address(address: str) -> str:
        address = address.strip()
        if not address:
            raise BadRequest("SmtpAddress must not be empty")
        if len(address) > SMTP_ADDRESS_MAX:
            raise BadRequest(f"SmtpAddress is longer than {SMTP_ADDRESS_MAX} characters")
        if "@" not in address or any(c.isspace() or not c.isprintable() for c in address):
            raise BadRequest(f"SmtpAddress {address!r} is not a valid SMTP address")
        return address

    def _check_owner(self, owner: str) -> str:
        if not self.store.user_exists(owner):
            raise BadRequest(f"ObjectGlobalUserObjectId {owner} does not name a global user")
        return owner

    def _created(self, request: EmulatorRequest, uri: str) -> EmulatorResponse:
        drop = request.method == "POST" and (
            self._take("drop_next_posts") or self._roll(self._faults.drop_post_rate)
        )
        if drop:
            self._bump("dropped_posts")
        return EmulatorResponse(
            201,
            (("Location", request.base_url.rstrip("/") + uri), ("Content-Type", "text/plain")),
            uri.encode(),
            drop_connection=drop,
        )

    def _create_address(self, body: dict[str, str], request: EmulatorRequest) -> EmulatorResponse:
        if "SmtpAddress" not in body:
            raise BadRequest("SmtpAddress is required")
        address = self._check_address(body["SmtpAddress"])
        owner = body.get("ObjectGlobalUserObjectId", "").strip()
        if not owner:
            raise BadRequest("ObjectGlobalUserObjectId is required: an address needs an owner")
        self._check_owner(owner)
        object_id = new_object_id()
        try:
            self.store.insert_address(object_id, address, owner)
        except DuplicateError:
            raise BadRequest(f"SmtpAddress {address} is already in use") from None
        return self._created(request, SMTP_PROXY_ADDRESSES.uri(object_id))

    def _update_address(self, object_id: str, body: dict[str, str]) -> EmulatorResponse:
        current = self.store.get(ADDRESSES_TABLE, object_id)
        if current is None:
            raise BadRequest(f"SmtpProxyAddress with ObjectId {object_id} does not exist")
        address = self._check_address(body["SmtpAddress"]) if "SmtpAddress" in body else None
        owner = body.get("ObjectGlobalUserObjectId")
        if owner is not None:
            owner = owner.strip()
            if owner.lower() == current["ObjectGlobalUserObjectId"].lower():
                owner = None
            elif self._faults.owner_create_only:
                raise BadRequest("ObjectGlobalUserObjectId cannot be changed once set")
            else:
                self._check_owner(owner)
        try:
            found = self.store.update_address(object_id, address, owner)
        except DuplicateError:
            raise BadRequest(f"SmtpAddress {address} is already in use") from None
        if not found:
            raise BadRequest(f"SmtpProxyAddress with ObjectId {object_id} does not exist")
        return EmulatorResponse(204, (), b"")

    # -- users ------------------------------------------------------------------------------

    def _create_user(self, body: dict[str, str], request: EmulatorRequest) -> EmulatorResponse:
        if not wire.query_params(request.query).get("templateAlias"):
            raise BadRequest("templateAlias is required to create a user")
        alias = body.get("Alias", "").strip()
        dtmf = body.get("DtmfAccessId", "").strip()
        if not alias or not dtmf:
            raise BadRequest("Alias and DtmfAccessId are required to create a user")
        object_id = new_object_id()
        try:
            self.store.insert_user(
                object_id=object_id,
                alias=alias,
                dtmf_access_id=dtmf,
                display_name=body.get("DisplayName", alias),
                first_name=body.get("FirstName", ""),
                last_name=body.get("LastName", ""),
                email_address=body.get("EmailAddress", ""),
                create_smtp_proxy_from_corp=body.get("CreateSmtpProxyFromCorp", "").lower()
                == "true",
            )
        except DuplicateError as duplicate:
            name = "Alias" if duplicate.column == "alias" else "DtmfAccessId"
            raise BadRequest(f"{name} {body.get(name, '')} is already in use") from None
        return self._created(request, USERS.uri(object_id))

    def _update_user(self, object_id: str, body: dict[str, str]) -> EmulatorResponse:
        changes: dict[str, str | int] = {
            column: body[name] for name, column in _USER_WRITABLE.items() if name in body
        }
        if "CreateSmtpProxyFromCorp" in body:
            changes["create_smtp_proxy_from_corp"] = int(
                body["CreateSmtpProxyFromCorp"].lower() == "true"
            )
        try:
            found = self.store.update_user(object_id, changes)
        except DuplicateError:
            raise BadRequest("DtmfAccessId is already in use") from None
        if not found:
            raise BadRequest(f"User with ObjectId {object_id} does not exist")
        return EmulatorResponse(204, (), b"")

    # -- /emulator: observing and steering, for tests ----------------------------------------

    def _admin(self, request: EmulatorRequest) -> EmulatorResponse:
        path = request.path.rstrip("/")
        method = request.method.upper()
        if path == "/emulator/stats" and method == "GET":
            return self._json(self.stats().__dict__)
        if path == "/emulator/stats" and method == "POST":
            self.reset_stats()
            return self._json(self.stats().__dict__)
        if path == "/emulator/faults" and method == "GET":
            return self._json(self._faults.__dict__)
        if path == "/emulator/faults" and method == "POST":
            try:
                changes = json.loads(request.body or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("a JSON object of settings is expected")
                known = {f.name for f in fields(Faults)}
                unknown = sorted(set(changes) - known)
                if unknown:
                    raise ValueError(f"unknown settings {unknown}; known: {sorted(known)}")
                return self._json(self.set_faults(**changes).__dict__)
            except ValueError as error:
                return self._json({"error": str(error)}, 400)
        return self._json({"error": f"no such emulator endpoint: {method} {path}"}, 404)

    @staticmethod
    def _json(body: object, status: int = 200) -> EmulatorResponse:
        return EmulatorResponse(
            status, (("Content-Type", wire.JSON_TYPE),), json.dumps(body, sort_keys=True).encode()
        )
