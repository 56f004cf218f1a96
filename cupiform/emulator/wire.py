"""How the emulator speaks: its own XML/JSON encoders, body parser, query and sort parser.

Written for the emulator alone, on purpose: the client has its own codecs, so a mistake
in one shows up as a failing test instead of cancelling out. The real server's JSON
habits are reproduced here: every value a string, the count as ``"@total"``, a page of
one item given as an object instead of an array, an empty collection with no item key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET

from cupiform.resources.base import Collection

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
JSON_TYPE = "application/json"
XML_TYPE = "application/xml"

Item = Mapping[str, str]


class BadRequest(Exception):
    """The request cannot be understood; answered 400 ``code`` with ``message``."""

    def __init__(self, message: str, code: str = "DATA_EXCEPTION", status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def wants_json(accept: str) -> bool:
    return "json" in accept.lower()


def _xml_item(element: str, item: Item) -> str:
    fields = "".join(f"<{key}>{escape(value)}</{key}>" for key, value in item.items())
    return f"<{element}>{fields}</{element}>"


def encode_list(
    as_json: bool, collection: Collection, total: int, items: Sequence[Item] | None
) -> bytes:
    """A listing. ``items=None`` is a count-only answer (``rowsPerPage=0``)."""
    if as_json:
        body: dict[str, object] = {"@total": str(total)}
        if items:
            body[collection.item_element] = items[0] if len(items) == 1 else list(items)
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    root = collection.list_element
    if not items:
        return f'{XML_DECLARATION}<{root} total="{total}"/>'.encode()
    inner = "".join(_xml_item(collection.item_element, item) for item in items)
    return f'{XML_DECLARATION}<{root} total="{total}">{inner}</{root}>'.encode()


def encode_json_list(collection: Collection, total: int, objects: Sequence[str]) -> bytes:
    """A JSON listing from objects already encoded as JSON text (one per item)."""
    head = f'{{"@total":"{total}"'
    if not objects:
        return (head + "}").encode()
    if len(objects) == 1:
        return f'{head},"{collection.item_element}":{objects[0]}}}'.encode()
    return f'{head},"{collection.item_element}":[{",".join(objects)}]}}'.encode()


def encode_item(as_json: bool, collection: Collection, item: Item) -> bytes:
    if as_json:
        return json.dumps(dict(item), ensure_ascii=False, separators=(",", ":")).encode()
    return (XML_DECLARATION + _xml_item(collection.item_element, item)).encode()


def encode_error(as_json: bool, code: str, message: str) -> bytes:
    if as_json:
        body = {"errors": {"code": code, "message": message}}
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return (
        f"{XML_DECLARATION}<ErrorDetails><errors><code>{escape(code)}</code>"
        f"<message>{escape(message)}</message></errors></ErrorDetails>"
    ).encode()


TOMCAT_500 = (
    '<!doctype html><html lang="en"><head><title>HTTP Status 500 – Internal Server Error'
    '</title></head><body><h1>HTTP Status 500 – Internal Server Error</h1><hr class="line" />'
    "<p><b>Type</b> Exception Report</p><p><b>Message</b> Request processing failed</p>"
    "<p><b>Description</b> The server encountered an unexpected condition that prevented it "
    'from fulfilling the request.</p><hr class="line" /><h3>Apache Tomcat</h3></body></html>'
).encode()


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise BadRequest(f"field value must be text, not {type(value).__name__}")


def decode_body(content_type: str, body: bytes) -> dict[str, str]:
    """The fields of a POST or PUT body, as text. Unknown fields are kept (and ignored later)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body.strip():
        raise BadRequest("the request body is empty")
    if kind.endswith("json"):
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise BadRequest(f"the JSON body does not parse: {error}") from None
        if not isinstance(parsed, dict):
            raise BadRequest("the JSON body must be an object")
        return {str(key): _scalar(value) for key, value in parsed.items() if value is not None}
    if kind.endswith("xml"):
        try:
            root = SafeET.fromstring(body)
        except Exception as error:  # defusedxml raises several kinds
            raise BadRequest(f"the XML body does not parse: {error}") from None
        return {child.tag: (child.text or "") for child in root}
    raise BadRequest(
        f"unsupported Content-Type {content_type!r}", code="UNSUPPORTED_MEDIA_TYPE", status=415
    )


def query_params(raw: str) -> dict[str, str]:
    """Query string parameters; ``+`` and ``%20`` both mean a space."""
    return dict(parse_qsl(raw, keep_blank_values=True))


def parse_criterion(text: str) -> tuple[str, str, str]:
    """``(column is value)`` -> (column, operator, value); operator lower-cased."""
    inner = text.strip()
    if not (inner.startswith("(") and inner.endswith(")")):
        raise BadRequest(f"query {text!r} must be written (column is value)")
    parts = inner[1:-1].strip().split(None, 2)
    if len(parts) != 3:
        raise BadRequest(f"query {text!r} must be written (column is value)")
    column, operator, value = parts
    operator = operator.lower()
    if operator not in ("is", "startswith"):
        raise BadRequest(f"query operator {parts[1]!r} is not supported (is, startswith)")
    return column, operator, value


def parse_sort(text: str) -> tuple[str, bool]:
    """``(column asc|desc)`` -> (column, descending)."""
    inner = text.strip()
    if not (inner.startswith("(") and inner.endswith(")")):
        raise BadRequest(f"sort {text!r} must be written (column asc|desc)")
    parts = inner[1:-1].split()
    if len(parts) == 1:
        return parts[0], False
    if len(parts) != 2 or parts[1].lower() not in ("asc", "desc"):
        raise BadRequest(f"sort {text!r} must be written (column asc|desc)")
    return parts[0], parts[1].lower() == "desc"
