"""Test-side reading of emulator answers: plain json and ElementTree, nothing from cupiform,
so that these tests check the wire as a real server writes it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx

JSON = {"Accept": "application/json"}
JSON_BODY = {"Accept": "application/json", "Content-Type": "application/json"}
XML_BODY = {"Content-Type": "application/xml"}


def xml(response: httpx.Response) -> ET.Element:
    return ET.fromstring(response.content)


def xml_items(response: httpx.Response) -> list[dict[str, str]]:
    return [{child.tag: child.text or "" for child in item} for item in xml(response)]


def error_of(response: httpx.Response) -> tuple[str, str]:
    """(code, message) from ErrorDetails, in whichever format the answer is."""
    if "json" in response.headers.get("content-type", ""):
        errors = response.json()["errors"]
        return errors["code"], errors["message"]
    root = xml(response)
    assert root.tag == "ErrorDetails", response.text
    return root.findtext("errors/code") or "", root.findtext("errors/message") or ""
