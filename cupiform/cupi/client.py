"""The CUPI client: every read and write cupiform makes, through one object.

``CupiClient`` keeps one connection pool and the server's session cookies for the whole
run, retries what may be retried, never retries a POST blind, paces itself with a
concurrency window shared by every thread, and turns every failure into one of the
errors of ``cupiform.errors`` with a message that says what was asked, of which server,
and what came back. Objects come and go as ``dict[str, str]`` of CUPI field names; the
collections' paths and element names come from ``cupiform.resources``.

Every public method may be called from many threads at once.
"""

from __future__ import annotations

import logging
import math
import random
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import methodcaller
from types import TracebackType
from typing import Self
from urllib.parse import quote

import httpx

from cupiform.cupi import log
from cupiform.cupi.codec import (
    DecodeError,
    Item,
    Listing,
    content_type,
    decode_error,
    decode_listing,
    decode_object,
    encode_object,
    object_id_from_created,
)
from cupiform.cupi.limiter import ConcurrencyLimiter
from cupiform.cupi.query import Query, is_, query_string
from cupiform.cupi.retry import RETRY_STATUSES, Attempts, RetryPolicy
from cupiform.cupi.session import SessionGate
from cupiform.cupi.settings import PASSWORD_VARIABLE, USERNAME_VARIABLE, ClientSettings
from cupiform.errors import (
    AuthenticationError,
    BadResponseError,
    ConfigError,
    ConnectError,
    CupiError,
    NotFoundError,
    OutcomeUnknownError,
    RejectedError,
    RequestTimeout,
    ServerError,
    ThrottledError,
    TLSError,
)
from cupiform.resources.base import Collection
from cupiform.resources.users import USERS

_log = logging.getLogger("cupiform.cupi")

# Up to this many aliases are looked up with a query each; beyond, listing every user is
# preferred when it takes fewer requests.
FEW_ALIASES = 5
USER_FIELDS = ("Alias", "ObjectId")  # all that resolving an owner needs of a user

# The field that tells objects of a collection apart on the server (unique, searchable):
# how an unanswered POST's object is looked up.
LOOKUP_KEY_FIELD = "SmtpAddress"

# Transport errors raised before the request could reach the server: nothing was done.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class _Failure:
    """One attempt that did not succeed, and what to make of it."""

    kind: type[CupiError]
    request: str  # "POST https://host:8443/vmrest/smtpproxyaddresses"
    what: str  # what came back: "400 DATA_EXCEPTION: ..." or "no answer within 1 s"
    status: int = 0
    code: str = ""
    detail: str = ""
    retryable: bool = False  # worth another attempt for an idempotent call
    sent: bool = True  # the server may have seen (and done) it

    def error(self, note: str = "") -> CupiError:
        what = self.what.rstrip(".") if note else self.what
        message = f"{self.request}: {what}" + (f"; {note}" if note else "")
        if issubclass(self.kind, ServerError):
            return self.kind(
                message,
                request=self.request,
                status=self.status,
                code=self.code,
                detail=self.detail,
            )
        return self.kind(message, request=self.request)


def _ssl_error_in(error: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return text or type(error).__name__


_object_id = methodcaller("get", "ObjectId", "")


class CupiClient:
    """Talks to one CUPI server for the whole run.

    ``transport`` replaces the network (the in-process emulator, a mock); ``retry``,
    ``sleep``, ``clock`` and ``dice`` set how retries wait; ``limiter`` may be shared with
    other clients of the same server; ``warn`` receives warnings meant for the user.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        limiter: ConcurrencyLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        dice: random.Random | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.limiter = limiter or ConcurrencyLimiter(settings.parallelism)
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._dice = dice or random.Random()
        self._gate = SessionGate()
        self._refused: AuthenticationError | None = None
        self._user_counts: dict[str, int] = {}  # for listing_pays
        self._content_type = content_type(settings.format)
        if settings.verify is False:
            (warn or _log.warning)(
                f"TLS certificate verification is off for {settings.url} (server.verify: "
                "false): anyone on the path can read the credentials. Prefer server.verify: "
                "<path of the CA bundle that signed the server's certificate>."
            )
        self._http = httpx.Client(
            auth=httpx.BasicAuth(settings.username, settings.password),
            headers={"Accept": self._content_type, "User-Agent": "cupiform"},
            timeout=httpx.Timeout(settings.timeout),
            verify=_verify(settings.verify),
            transport=transport,
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=max(10, 2 * settings.parallelism),
                max_keepalive_connections=max(10, 2 * settings.parallelism),
            ),
            trust_env=False,
            # Called once the request is complete (credentials and cookies included), so
            # that the -v log shows, redacted, what really went out.
            event_hooks={"request": [log.request_sent]},
        )

    # -- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------------------

    def list_all(
        self,
        collection: Collection,
        query: Query | None = None,
        *,
        fields: Sequence[str] | None = None,
    ) -> list[Item]:
        """Every object of ``collection`` (matching ``query``), page after page; with
        ``fields``, each object holds only those of its fields (``ObjectId`` always).

        The walk ends at a short page, once ``total`` objects are in hand, or at a page that
        brings nothing new; objects that shift between pages while the server changes are
        kept once (by ObjectId, as first seen).
        """
        if query is not None:
            query.check(collection)
        if fields is not None and "ObjectId" not in fields:
            fields = ("ObjectId", *fields)
        size = self.settings.page_size
        found: dict[object, Item] = {}  # by lower-cased ObjectId
        page = 1
        while True:
            listing = self._listing(
                collection, query, rows_per_page=size, page_number=page, fields=fields
            )
            # (in C: a large listing is 100 pages of 1,000 objects)
            keys: list[object] = list(map(str.lower, map(_object_id, listing.items)))
            if "" in keys:  # an object without an ObjectId (no server sends one) is kept
                keys = [key or object() for key in keys]
            before = len(found)
            for key, item in zip(keys, listing.items, strict=True):
                found.setdefault(key, item)
            if len(listing.items) < size or len(found) == before:
                break
            if listing.total is not None and len(found) >= listing.total:
                break
            page += 1
        return list(found.values())

    def count(self, collection: Collection, query: Query | None = None) -> int:
        """How many objects of ``collection`` (match ``query``), in one request."""
        if query is not None:
            query.check(collection)
        listing = self._listing(collection, query, rows_per_page=0)
        if listing.total is not None:
            return listing.total
        return len(self.list_all(collection, query))  # a server that gave no count

    def get(self, collection: Collection, object_id: str) -> Item:
        """One object by ObjectId; ``NotFoundError`` when there is none."""
        url = self._url(collection, object_id)
        response = self._call("GET", url)
        try:
            return decode_object(response.content, response.headers.get("content-type"), collection)
        except DecodeError as error:
            raise self._unreadable("GET", url, response, error) from None

    def get_user(self, object_id: str, collection: Collection = USERS) -> Item:
        return self.get(collection, object_id)

    def listing_pays(self, alias_count: int, collection: Collection = USERS) -> bool:
        """Whether one listing of every user takes fewer requests than a query for each of
        ``alias_count`` aliases. When there are many, the server is asked for the count of
        users once per client: an estimate of the cost, which needs no second request."""
        if alias_count <= FEW_ALIASES:
            return False
        users = self._user_counts.get(collection.path)
        if users is None:
            users = self._user_counts[collection.path] = self.count(collection)
        pages = max(1, math.ceil(users / self.settings.page_size))
        return pages < alias_count

    def list_users(self, collection: Collection = USERS) -> list[Item]:
        """Every user, with its ``Alias`` and ``ObjectId`` alone."""
        return self.list_all(collection, fields=USER_FIELDS)

    def find_users_by_alias(
        self, aliases: Iterable[str], collection: Collection = USERS
    ) -> dict[str, Item]:
        """The users of ``aliases`` (``Alias`` and ``ObjectId``), keyed by lower-cased alias;
        unknown aliases are absent.

        A query each when there are few, or when that takes fewer requests than listing
        every user (``listing_pays``); else one listing of all users.
        """
        wanted = {alias.lower() for alias in aliases if alias}
        if not wanted:
            return {}
        candidates: list[Item] = []
        if self.listing_pays(len(wanted), collection):
            candidates = self.list_users(collection)
        else:
            for alias in sorted(wanted):
                try:
                    query = is_("Alias", alias)
                except ValueError:
                    continue  # no server could hold such an alias
                candidates.extend(self.list_all(collection, query, fields=USER_FIELDS))
        found: dict[str, Item] = {}
        for user in candidates:
            alias = user.get("Alias", "").lower()
            if alias in wanted:
                found[alias] = user
        return found

    # -- writing ----------------------------------------------------------------------------

    def create(
        self, collection: Collection, fields: Mapping[str, str], *, key_field: str | None = None
    ) -> str:
        """POST a new object; returns its ObjectId.

        A POST is never sent again blind. When its outcome is unknown (no answer, a lost
        connection, a 5xx), the object is looked up by ``key_field`` (``SmtpAddress`` by
        default): found with the same field values, it was created and its ObjectId is
        returned; found with others, the address belongs to someone else; absent, it was
        not created and the POST may be sent again.
        """
        body_fields = self._writable(collection, fields)
        key = key_field or (LOOKUP_KEY_FIELD if LOOKUP_KEY_FIELD in body_fields else None)
        url = self._url(collection)
        body = encode_object(body_fields, self.settings.format, collection)
        attempts = self._attempts()
        unanswered: _Failure | None = None  # an earlier attempt the server may have done
        while True:
            attempts.begin()
            try:
                response = self._send_once("POST", url, body)
            except httpx.RequestError as error:
                failure = self._transport_failure("POST", url, error)
            else:
                if response.is_success:
                    object_id = object_id_from_created(
                        response.headers.get("location"),
                        response.content,
                        response.headers.get("content-type"),
                        collection,
                    )
                    if object_id is not None:
                        return object_id
                    failure = _Failure(
                        BadResponseError,
                        f"POST {url}",
                        f"{response.status_code} {response.reason_phrase}, but neither "
                        "Location nor the body names the new ObjectId",
                        status=response.status_code,
                    )
                else:
                    failure = self._server_failure("POST", url, response)
            if failure.kind is AuthenticationError or failure.kind is TLSError:
                raise failure.error()
            if not failure.sent:
                if not failure.retryable:
                    raise failure.error()
                outcome = "not sent"
            elif (
                failure.status == 0
                or failure.status >= 500
                or 200 <= failure.status < 300
                or (failure.status == 400 and unanswered is not None)
            ):
                # The server may have done it: find out before anything else.
                unanswered = failure
                if key is None or key not in body_fields:
                    raise OutcomeUnknownError(
                        f"{failure.request}: {failure.what}; whether it was created is "
                        "unknown (no field to look it up by)",
                        request=failure.request,
                    )
                object_id = self._look_up_created(collection, key, body_fields, failure, attempts)
                if object_id is not None:
                    return object_id
                if failure.status == 400:
                    raise failure.error()  # refused, and not because of an earlier attempt
                outcome = "looked up: not created"
            else:
                raise failure.error()  # a plain refusal: 400, 403, 404, 415, a redirect...
            delay = attempts.next_delay()
            if delay is None:
                raise failure.error(f"{outcome}; {attempts.gave_up()}")
            log.http_log.info(
                "retrying POST %s in %.1f s (%s; attempt %d of %d): %s",
                url,
                delay,
                outcome,
                attempts.made + 1,
                self._retry.max_attempts,
                failure.what,
            )
            attempts.wait(delay)

    def update(self, collection: Collection, object_id: str, fields: Mapping[str, str]) -> None:
        """PUT ``fields`` (only those given) to an object; 200 or 204 both succeed."""
        url = self._url(collection, object_id)
        body = encode_object(self._writable(collection, fields), self.settings.format, collection)
        self._call("PUT", url, body)

    def delete(self, collection: Collection, object_id: str) -> None:
        """DELETE an object; 200 or 204 both succeed, and so does a 404 met on a retry (an
        earlier attempt did it)."""
        self._call("DELETE", self._url(collection, object_id), gone_on_retry=True)

    # -- the steps ---------------------------------------------------------------------------

    def _url(self, collection: Collection, object_id: str | None = None, query: str = "") -> str:
        path = collection.prefix
        if object_id is not None:
            if not object_id or object_id != object_id.strip():
                raise ValueError(f"not an ObjectId: {object_id!r}")
            path = f"{path}/{quote(object_id, safe='')}"
        return f"{self.settings.url}{path}" + (f"?{query}" if query else "")

    @staticmethod
    def _writable(collection: Collection, fields: Mapping[str, str]) -> dict[str, str]:
        read_only = {field.name for field in collection.fields if field.read_only}
        refused = sorted(name for name in fields if name in read_only)
        if refused:
            raise ValueError(f"read-only fields of {collection.path}: {', '.join(refused)}")
        return dict(fields)

    def _attempts(self, within: Attempts | None = None) -> Attempts:
        attempts = Attempts(self._retry, clock=self._clock, sleep=self._sleep, dice=self._dice)
        if within is not None:
            attempts.started = within.started  # one time budget for a call and its look-ups
        return attempts

    def _listing(
        self,
        collection: Collection,
        query: Query | None,
        *,
        rows_per_page: int,
        page_number: int | None = None,
        within: Attempts | None = None,
        fields: Sequence[str] | None = None,
    ) -> Listing:
        qs = query_string(query, rows_per_page=rows_per_page, page_number=page_number)
        url = self._url(collection, query=qs)
        response = self._call("GET", url, within=within)
        try:
            return decode_listing(
                response.content, response.headers.get("content-type"), collection, fields
            )
        except DecodeError as error:
            raise self._unreadable("GET", url, response, error) from None

    def _look_up_created(
        self,
        collection: Collection,
        key: str,
        fields: Mapping[str, str],
        failure: _Failure,
        attempts: Attempts,
    ) -> str | None:
        """After a POST with an unknown outcome: the ObjectId when the object exists as sent,
        None when it does not exist; an error when someone else holds it or no look-up
        succeeds."""
        value = fields[key]
        try:
            query = is_(key, value).check(collection)
            matches = [
                item
                for item in self._first_page(collection, query, attempts)
                if item.get(key, "").lower() == value.lower()
            ]
        except (CupiError, ValueError) as error:
            raise OutcomeUnknownError(
                f"{failure.request}: {failure.what}; whether it was created is unknown, "
                f"as looking up {key} {value} failed too: {error}. "
                "The next plan adopts the object if it was created.",
                request=failure.request,
            ) from error
        if not matches:
            return None
        found = matches[0]
        differing = [
            name
            for name, sent in fields.items()
            if name in found and found[name].lower() != sent.lower()
        ]
        object_id = found.get("ObjectId", "")
        if differing:
            held = ", ".join(f"{name} {found[name]}" for name in differing)
            raise RejectedError(
                f"{failure.request}: {failure.what}; looked up {key} {value}: it exists "
                f"with {held} (ObjectId {object_id}), so it was not created by this call",
                request=failure.request,
                status=failure.status,
                code=failure.code,
            )
        _log.info(
            "%s: %s; looked up %s %s: created, ObjectId %s",
            failure.request,
            failure.what,
            key,
            value,
            object_id,
        )
        if not object_id:
            raise BadResponseError(
                f"{failure.request}: looked up {key} {value}: found, but with no ObjectId",
                request=failure.request,
            )
        return object_id

    def _first_page(self, collection: Collection, query: Query, within: Attempts) -> list[Item]:
        listing = self._listing(
            collection,
            query,
            rows_per_page=self.settings.page_size,
            page_number=1,
            within=within,
        )
        return list(listing.items)

    def _call(
        self,
        method: str,
        url: str,
        content: bytes | None = None,
        *,
        gone_on_retry: bool = False,
        within: Attempts | None = None,
    ) -> httpx.Response:
        """An idempotent call (GET, PUT, DELETE), retried on 5xx and lost connections."""
        attempts = self._attempts(within)
        while True:
            number = attempts.begin()
            try:
                response = self._send_once(method, url, content)
            except httpx.RequestError as error:
                failure = self._transport_failure(method, url, error)
            else:
                if response.is_success:
                    return response
                if gone_on_retry and response.status_code == 404 and number > 1:
                    log.http_log.info("%s %s: 404 on a retry: already done", method, url)
                    return response
                failure = self._server_failure(method, url, response)
            delay = attempts.next_delay() if failure.retryable else None
            if delay is None:
                raise failure.error(attempts.gave_up() if failure.retryable else "")
            log.http_log.info(
                "retrying %s %s in %.1f s (attempt %d of %d): %s",
                method,
                url,
                delay,
                number + 1,
                self._retry.max_attempts,
                failure.what,
            )
            attempts.wait(delay)

    def _send_once(self, method: str, url: str, content: bytes | None = None) -> httpx.Response:
        """One request, inside the session gate and the concurrency window."""
        self._check_not_refused(method, url)
        headers = {"Content-Type": self._content_type} if content is not None else None
        with self._gate.passage() as observe, self.limiter.slot() as slot:
            self._check_not_refused(method, url)
            # Built inside the gate, so that it carries the cookies of the first answer.
            request = self._http.build_request(method, url, content=content, headers=headers)
            started = time.perf_counter()
            try:
                response = self._http.send(request)
            except httpx.HTTPError as error:
                log.no_answer(request, error, time.perf_counter() - started)
                raise
            log.answer_received(request, response, time.perf_counter() - started)
            slot.throttled = response.status_code == 503
            if response.status_code == 401:
                # Latched before the gate lets the next request in: none may follow.
                refused = self._server_failure(method, url, response).error()
                assert isinstance(refused, AuthenticationError)
                self._refused = refused
                raise refused
            observe(response)
        return response

    # -- failures ------------------------------------------------------------------------------

    def _check_not_refused(self, method: str, url: str) -> None:
        refused = self._refused
        if refused is not None:
            raise AuthenticationError(
                f"{method} {url}: not sent, as the server refused the credentials earlier "
                f"in this run ({refused})",
                request=f"{method} {url}",
                status=401,
                code=refused.code,
            )

    def _server_failure(self, method: str, url: str, response: httpx.Response) -> _Failure:
        status = response.status_code
        said = decode_error(response.content, response.headers.get("content-type"))
        if said.details:
            what = f"{status} {said.summary}"
        elif said.text:
            page = " (an HTML page)" if said.kind == "html" else ""
            what = f"{status} {response.reason_phrase}{page}: {said.text}"
        else:
            what = f"{status} {response.reason_phrase}"
        kind: type[ServerError] = RejectedError
        if status == 401:
            kind = AuthenticationError
            what += (
                f" (check {USERNAME_VARIABLE} and {PASSWORD_VARIABLE}; not retried, as "
                "repeated failures can lock the account)"
            )
        elif status == 404:
            kind = NotFoundError
        elif status == 503:
            kind = ThrottledError
        elif 300 <= status < 400:
            where = response.headers.get("location", "")
            if where:
                what += f", redirected to {where}"
            if where.startswith("https:") and url.startswith("http:"):
                what += " (server.url should use https)"
        return _Failure(
            kind,
            f"{method} {url}",
            what,
            status=status,
            code=said.code,
            detail=said.summary,
            retryable=status in RETRY_STATUSES,
        )

    def _transport_failure(self, method: str, url: str, error: httpx.RequestError) -> _Failure:
        request = f"{method} {url}"
        if not isinstance(error, httpx.TransportError):  # e.g. a body that does not decompress
            what = f"the answer could not be read: {_describe(error)}"
            return _Failure(BadResponseError, request, what, retryable=True)
        timeout = f"{self.settings.timeout:g} s"
        tls = _ssl_error_in(error)
        if tls is not None or "SSL" in str(error):
            reason = getattr(tls, "reason", None) or _describe(tls or error)
            hint = ""
            detail = str(getattr(tls, "verify_message", "") or "").rstrip(".")
            if "CERTIFICATE_VERIFY_FAILED" in str(tls or error) and "mismatch" in detail.lower():
                hint = (
                    f" ({detail}: server.url must name a host the server's certificate "
                    "was issued for)"
                )
            elif "CERTIFICATE_VERIFY_FAILED" in str(tls or error):
                said = f"{detail}: " if detail else ""
                hint = (
                    f" ({said}the server's certificate is not trusted: set server.verify to "
                    "the PEM CA bundle that signed it)"
                )
            elif "WRONG_VERSION_NUMBER" in str(tls or error):
                hint = " (does the server speak plain HTTP? then server.url is http://...)"
            return _Failure(TLSError, request, f"TLS failed: {reason}{hint}", sent=False)
        sent = not isinstance(error, _NOT_SENT)
        if isinstance(error, httpx.ConnectTimeout):
            what = f"could not connect within {timeout}"
        elif isinstance(error, httpx.PoolTimeout):
            what = f"no free connection within {timeout}"
        elif isinstance(error, httpx.TimeoutException):
            what = f"no answer within {timeout}"
        elif isinstance(error, httpx.ConnectError):
            what = f"could not connect: {_describe(error)}"
        else:
            what = f"the connection was lost: {_describe(error)}"
        kind = RequestTimeout if isinstance(error, httpx.TimeoutException) else ConnectError
        return _Failure(kind, request, what, retryable=True, sent=sent)

    def _unreadable(
        self, method: str, url: str, response: httpx.Response, error: DecodeError
    ) -> BadResponseError:
        return BadResponseError(
            f"{method} {url}: {response.status_code} {response.reason_phrase}, but the body "
            f"cannot be read: {error}",
            request=f"{method} {url}",
            status=response.status_code,
        )


def _verify(verify: bool | str) -> bool | ssl.SSLContext:
    if isinstance(verify, bool):
        return verify
    try:
        return ssl.create_default_context(cafile=verify)
    except FileNotFoundError:
        raise ConfigError(f"server.verify: no CA bundle at {verify}") from None
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"server.verify: cannot use CA bundle {verify}: {error}") from None
