"""CUPI bodies, both wire formats, to plain Python values and back.

Whatever the server sends, and in whichever format (a server may answer an error in XML
when JSON was asked for), what leaves this module is the same: an object is a
``dict[str, str]`` of field name to text, a listing is its ``total`` and its items, an
error is its CUPI codes and messages or, for an HTML page, its readable text.

The quirks absorbed here:

- JSON: every value a string (non-strings are turned into text anyway); the count as
  ``"@total"``; a listing of one item gives that item as an object, not a one-element
  array; an empty listing has no item key at all; one object comes with no wrapper.
- XML: the count as the root's ``total`` attribute; an empty listing as ``<Root total="0"/>``;
  namespaces are ignored.
- Errors: ``ErrorDetails`` whose ``errors`` may repeat (XML), ``{"errors": {...}}`` or a
  list of them (JSON); a Tomcat HTML page reduced to its text.

Items of a listing are found by name first (the collection's item element, compared
without case) and, when no child has that name, by shape: every child that has fields of
its own. A child of the listing that has no fields of its own is not an item and is
dropped: the vendor's own example of an address listing has an ``ObjectGlobalUserURI``
element between the items, outside of them. It is not attached to the item before it:
that would be guessing, and the field is the owner's URI, derived from
``ObjectGlobalUserObjectId``, which the item does hold.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from itertools import chain, repeat
from operator import itemgetter
from typing import Literal, TypeVar
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape

import defusedxml
import defusedxml.ElementTree as SafeET

from cupiform.resources.base import Collection

Item = dict[str, str]
BodyKind = Literal["json", "xml", "html", "text", "empty"]

JSON_TYPE = "application/json"
XML_TYPE = "application/xml"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'

_V = TypeVar("_V")

_MAX_TEXT = 400
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_OBJECT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


class DecodeError(ValueError):
    """A body that cannot be read as what it should be; the message says why."""


@dataclass(frozen=True)
class Listing:
    """One page of a listing (or a count alone): ``total`` is None when the server gave none."""

    total: int | None
    items: tuple[Item, ...]


@dataclass(frozen=True)
class ErrorDetail:
    code: str
    message: str

    def __str__(self) -> str:
        if self.code and self.message:
            return f"{self.code}: {self.message}"
        return self.code or self.message


@dataclass(frozen=True)
class ErrorBody:
    """What an error answer says: CUPI ``details`` when it had ErrorDetails, else ``text``
    (the readable text of an HTML page or of a plain body; empty when there was none)."""

    details: tuple[ErrorDetail, ...] = ()
    text: str = ""
    kind: BodyKind = "empty"

    @property
    def code(self) -> str:
        return self.details[0].code if self.details else ""

    @property
    def summary(self) -> str:
        if self.details:
            return "; ".join(str(detail) for detail in self.details)
        if self.kind == "html":
            return f"(an HTML error page) {self.text}"
        return self.text


# -- what a body is ---------------------------------------------------------------------------


def sniff(content_type: str | None, body: bytes) -> BodyKind:
    """The kind of a body, from its first characters first: servers mislabel bodies."""
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if not head:
        return "empty"
    if head.startswith(b"<"):
        if "html" in kind or head.startswith((b"<!doctype html", b"<html")):
            return "html"
        return "xml"
    if head.startswith((b"{", b"[")):
        return "json"
    if "html" in kind:
        return "html"
    return "text"


def _text_of(body: bytes) -> str:
    return body.decode("utf-8", "replace")


def shorten(text: str, limit: int = _MAX_TEXT) -> str:
    """Whitespace collapsed, at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


# -- JSON ---------------------------------------------------------------------------------------


def _load_json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise DecodeError(f"the JSON body does not parse: {error}") from None


def _json_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _json_item(value: object, fields: Sequence[str] | None = None) -> Item:
    """An item as text fields; with ``fields``, only those of its fields (a large listing
    keeps only what its reader needs)."""
    if not isinstance(value, dict):
        raise DecodeError(f"an item should be a JSON object, not {type(value).__name__}")
    if fields is not None:
        value = _projected(value, fields)
    for field in value.values():
        if type(field) is not str:
            return {str(key): _json_text(field) for key, field in value.items()}
    return value  # the usual case: every value already text, as CUPI sends them


def _projected(item: dict[str, _V], fields: Sequence[str]) -> dict[str, _V]:
    return {field: item[field] for field in fields if field in item}


def _json_total(value: object) -> int | None:
    if value is None:
        return None
    try:
        total = int(str(value).strip())
    except ValueError:
        raise DecodeError(f"@total should be a number, not {value!r}") from None
    if total < 0:
        raise DecodeError(f"@total should not be negative: {value!r}")
    return total


def _json_items_key(document: dict[str, object], item_element: str) -> str | None:
    for key in document:
        if key.lower() == item_element.lower():
            return key
    # A server (or a document) naming the item differently: the one key holding objects.
    candidates = [
        key
        for key, value in document.items()
        if not key.startswith("@") and isinstance(value, (dict, list))
    ]
    if len(candidates) > 1:
        raise DecodeError(
            f"cannot tell which of {', '.join(sorted(candidates))} holds the {item_element} items"
        )
    return candidates[0] if candidates else None


def _json_listing(
    document: object, collection: Collection, fields: Sequence[str] | None = None
) -> Listing:
    if not isinstance(document, dict):
        raise DecodeError(f"a listing should be a JSON object, not {type(document).__name__}")
    total = _json_total(document.get("@total"))
    key = _json_items_key(document, collection.item_element)
    raw = document[key] if key is not None else []
    if isinstance(raw, dict):  # exactly one item comes as an object
        raw = [raw]
    if not isinstance(raw, list):
        raise DecodeError(f"{key} should hold objects, not {type(raw).__name__}")
    return Listing(total, _json_items(raw, fields))


def _json_items(raw: list[object], fields: Sequence[str] | None) -> tuple[Item, ...]:
    """The items of a page (``_json_item`` of each). A page of objects that all have the
    same keys and only text values, as CUPI sends them, is done a page at a time in C:
    a listing of 100,000 objects is that many items."""
    if raw and set(map(type, raw)) == {dict}:
        objects: list[dict[str, object]] = raw  # type: ignore[assignment]  # checked above
        keys = tuple(objects[0])
        if all(map(keys.__eq__, map(tuple, objects))):  # the same keys, in the same order
            present = list(keys) if fields is None else [f for f in fields if f in keys]
            if present:
                values = map(itemgetter(*present), objects)
                # as tuples (itemgetter of one key gives the value alone)
                rows = list(values if len(present) > 1 else zip(values))
                if set(map(type, chain.from_iterable(rows))) == {str}:
                    return tuple(map(dict, map(zip, repeat(present), rows)))
    return tuple([_json_item(entry, fields) for entry in raw])


def _json_object(document: object, collection: Collection) -> Item:
    if not isinstance(document, dict):
        raise DecodeError(f"an object should be a JSON object, not {type(document).__name__}")
    if "@total" in document:
        return _only(_json_listing(document, collection), collection)
    if len(document) == 1:
        (key, value), *_ = document.items()
        if key.lower() == collection.item_element.lower() and isinstance(value, dict):
            return _json_item(value)
    return _json_item(document)


# -- XML ----------------------------------------------------------------------------------------


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _load_xml(body: bytes) -> ET.Element:
    try:
        root: ET.Element = SafeET.fromstring(body, forbid_dtd=True)
    except ET.ParseError as error:
        raise DecodeError(f"the XML body does not parse: {error}") from None
    except defusedxml.DefusedXmlException as error:
        raise DecodeError(f"the XML body is refused: {error}") from None
    return root


def _xml_value(element: ET.Element) -> str:
    if len(element) == 0:
        return element.text or ""
    return " ".join("".join(element.itertext()).split())


def _xml_item(element: ET.Element) -> Item:
    return {_local(child.tag): _xml_value(child) for child in element}


def _xml_total(root: ET.Element) -> int | None:
    for name, value in root.attrib.items():
        if _local(name).lower() == "total":
            return _json_total(value)
    return None


def _xml_listing(
    root: ET.Element, collection: Collection, fields: Sequence[str] | None = None
) -> Listing:
    children = list(root)
    wanted = collection.item_element.lower()
    items = [child for child in children if _local(child.tag).lower() == wanted]
    if not items:
        items = [child for child in children if len(child) > 0]
    decoded = [_xml_item(item) for item in items]
    if fields is not None:
        decoded = [_projected(item, fields) for item in decoded]
    return Listing(_xml_total(root), tuple(decoded))


def _xml_object(root: ET.Element, collection: Collection) -> Item:
    tag = _local(root.tag).lower()
    if tag == collection.list_element.lower() or (
        tag != collection.item_element.lower() and _xml_total(root) is not None
    ):
        return _only(_xml_listing(root, collection), collection)
    return _xml_item(root)


def _only(listing: Listing, collection: Collection) -> Item:
    if len(listing.items) != 1:
        raise DecodeError(
            f"expected one {collection.item_element}, got a listing of {len(listing.items)}"
        )
    return listing.items[0]


# -- decoding answers ---------------------------------------------------------------------------


def _unreadable(kind: BodyKind, body: bytes, what: str) -> DecodeError:
    if kind == "html":
        return DecodeError(f"expected {what}, got an HTML page: {readable_html(_text_of(body))}")
    if kind == "empty":
        return DecodeError(f"expected {what}, got an empty body")
    return DecodeError(f"expected {what}, got text: {shorten(_text_of(body), 200)}")


def decode_listing(
    body: bytes,
    content_type: str | None,
    collection: Collection,
    fields: Sequence[str] | None = None,
) -> Listing:
    """A page of a listing, or a count alone, in either format; with ``fields``, each item
    holds only those of its fields."""
    kind = sniff(content_type, body)
    if kind == "json":
        return _json_listing(_load_json(body), collection, fields)
    if kind == "xml":
        return _xml_listing(_load_xml(body), collection, fields)
    raise _unreadable(kind, body, f"a listing of {collection.list_element}")


def decode_object(body: bytes, content_type: str | None, collection: Collection) -> Item:
    """One object (``GET /vmrest/<path>/<id>``), in either format."""
    kind = sniff(content_type, body)
    if kind == "json":
        return _json_object(_load_json(body), collection)
    if kind == "xml":
        return _xml_object(_load_xml(body), collection)
    raise _unreadable(kind, body, f"a {collection.item_element}")


def _xml_errors(root: ET.Element) -> tuple[ErrorDetail, ...]:
    def detail(element: ET.Element) -> ErrorDetail | None:
        fields = {_local(child.tag).lower(): _xml_value(child).strip() for child in element}
        code, message = fields.get("code", ""), fields.get("message", "")
        return ErrorDetail(code, message) if code or message else None

    found = [detail(child) for child in root if _local(child.tag).lower() in ("errors", "error")]
    if not found:
        found = [detail(root)]
    return tuple(entry for entry in found if entry is not None)


def _json_errors(document: object) -> tuple[ErrorDetail, ...]:
    if isinstance(document, dict) and len(document) == 1:
        (key, value), *_ = document.items()
        if key.lower() == "errordetails":
            document = value
    if not isinstance(document, dict):
        return ()
    raw = document.get("errors", document.get("error", document))
    entries = raw if isinstance(raw, list) else [raw]
    found: list[ErrorDetail] = []
    for entry in entries:
        if isinstance(entry, dict):
            code = _json_text(entry.get("code", "")).strip()
            message = _json_text(entry.get("message", "")).strip()
            if code or message:
                found.append(ErrorDetail(code, message))
    return tuple(found)


def decode_error(body: bytes, content_type: str | None) -> ErrorBody:
    """What an error answer says, whatever shape it has; never raises."""
    kind = sniff(content_type, body)
    details: tuple[ErrorDetail, ...] = ()
    try:
        if kind == "xml":
            details = _xml_errors(_load_xml(body))
        elif kind == "json":
            details = _json_errors(_load_json(body))
    except DecodeError:
        details = ()
    if details:
        return ErrorBody(details=details, kind=kind)
    if kind == "html":
        return ErrorBody(text=readable_html(_text_of(body)), kind="html")
    return ErrorBody(text=shorten(_text_of(body)), kind=kind)


def object_id_from_created(
    location: str | None, body: bytes, content_type: str | None, collection: Collection
) -> str | None:
    """The new object's ObjectId from a 201: the last segment of ``Location`` when present,
    else of the body (the object's URI as plain text, even when JSON was asked for); a
    body holding the object itself is read for its ``ObjectId``."""
    kind = sniff(content_type, body)
    if kind in ("json", "xml"):
        try:
            found = decode_object(body, content_type, collection).get("ObjectId", "")
        except DecodeError:
            found = ""
        if _OBJECT_ID.fullmatch(found):
            return found
    candidates = [location or ""]
    if kind == "text":
        candidates.append(_text_of(body).strip().strip('"').strip())
    for candidate in candidates:
        if not candidate:
            continue
        segment = unquote(urlsplit(candidate).path.rstrip("/").rsplit("/", 1)[-1])
        if _OBJECT_ID.fullmatch(segment) and segment.lower() != collection.path.lower():
            return segment
    return None


# -- HTML pages ---------------------------------------------------------------------------------


class _PageText(HTMLParser):
    """Blocks of text of an HTML page; a bold label opening a block gets a colon."""

    _BLOCKS = frozenset(
        {"title", "h1", "h2", "h3", "h4", "h5", "h6", "p", "div", "br", "hr", "li"}
        | {"tr", "td", "th", "pre", "table", "body", "html", "head"}
    )
    _SKIPPED = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._current: list[str] = []
        self._skipping = 0
        self._label = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.flush()
        elif tag in ("b", "strong") and not "".join(self._current).strip():
            self._label = True

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCKS:
            self.flush()
        elif tag in ("b", "strong") and self._label:
            self._current.append(":")
            self._label = False

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._current.append(data)

    def flush(self) -> None:
        text = " ".join("".join(self._current).split()).replace(" :", ":")
        self._current = []
        self._label = False
        if text.endswith(":"):
            text = text[:-1]
        if text and text not in self.blocks and not text.startswith("Apache Tomcat"):
            self.blocks.append(text)


def readable_html(page: str) -> str:
    """An HTML error page as one line of text: its title and what its body says."""
    parser = _PageText()
    try:
        parser.feed(page)
        parser.close()
    except (AssertionError, ValueError):
        return shorten(re.sub(r"<[^>]*>", " ", page))
    parser.flush()
    return shorten("; ".join(parser.blocks)) or "(an empty page)"


# -- encoding requests --------------------------------------------------------------------------


def content_type(wire_format: str) -> str:
    return JSON_TYPE if wire_format == "json" else XML_TYPE


def encode_object(fields: dict[str, str], wire_format: str, collection: Collection) -> bytes:
    """A POST or PUT body holding ``fields``, in ``wire_format`` (json or xml)."""
    for name, value in fields.items():
        if not _FIELD_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a CUPI field name")
        if not isinstance(value, str):
            raise TypeError(f"field {name} must be text, not {type(value).__name__}")
    if wire_format == "json":
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    for name, value in fields.items():
        if _XML_INVALID.search(value):
            raise ValueError(f"field {name} holds a character XML cannot carry: {value!r}")
    element = collection.item_element
    inner = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in fields.items())
    return f"{XML_DECLARATION}<{element}>{inner}</{element}>".encode()
