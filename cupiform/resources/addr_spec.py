"""The syntax of an SMTP address as RFC 5321 writes a Mailbox (``Local-part "@" Domain``),
with the sizes Unity Connection documents: at most 64 characters before the ``@``, at
most 320 in all.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from itertools import repeat

from cupiform.resources.smtp_proxy_address import SMTP_ADDRESS_MAX, SMTP_LOCAL_PART_MAX

DOMAIN_MAX = 255
LABEL_MAX = 63

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_STRING = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
# qtextSMTP (printable ASCII but '"' and '\') or a quoted pair (a backslash and any printable)
_QUOTED_STRING = re.compile(r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"')
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_GENERAL_LITERAL = re.compile(r"[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+")
# The common shape, accepted in one match: a dot-string, '@', labels of at most 63.
_SHORT_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*@{_SHORT_LABEL}(?:\.{_SHORT_LABEL})*")


def addr_spec_problem(address: str) -> str | None:
    """Why ``address`` is not a valid SMTP address, or None when it is."""
    plain = len(address) <= DOMAIN_MAX and _PLAIN.fullmatch(address)
    if plain and address.index("@") <= SMTP_LOCAL_PART_MAX:
        return None
    if len(address) > SMTP_ADDRESS_MAX:
        return f"address is {len(address)} characters long, at most {SMTP_ADDRESS_MAX} allowed"
    local, at, domain = address.rpartition("@")
    if not at:
        return f"'{address}' is not an email address: no '@'"
    if not local:
        return f"'{address}' is not an email address: nothing before the '@'"
    if not domain:
        return f"'{address}' is not an email address: nothing after the '@'"
    if len(local) > SMTP_LOCAL_PART_MAX:
        return (
            f"the part before the '@' is {len(local)} characters long, "
            f"at most {SMTP_LOCAL_PART_MAX} allowed"
        )
    if not (_DOT_STRING.fullmatch(local) or _QUOTED_STRING.fullmatch(local)):
        return f"'{local}' is not a valid local part (before the '@') of an email address"
    domain_problem = _domain_problem(domain)
    if domain_problem:
        return f"'{domain}' is not a valid domain of an email address: {domain_problem}"
    return None


def all_plain_addr_specs(addresses: Sequence[str]) -> bool:
    """True when every address has the common shape ``addr_spec_problem`` accepts at
    once, checked a list at a time in C; false says nothing (ask each)."""
    return (
        all(map(_PLAIN.fullmatch, addresses))
        and max(map(len, addresses), default=0) <= DOMAIN_MAX
        and max(map(str.index, addresses, repeat("@")), default=0) <= SMTP_LOCAL_PART_MAX
    )


def _domain_problem(domain: str) -> str | None:
    if domain.startswith("[") and domain.endswith("]"):
        return _address_literal_problem(domain[1:-1])
    if len(domain) > DOMAIN_MAX:
        return f"longer than {DOMAIN_MAX} characters"
    for label in domain.split("."):
        if not label:
            return "an empty label (two dots, or a dot at an end)"
        if len(label) > LABEL_MAX:
            return f"a label longer than {LABEL_MAX} characters"
        if not _LABEL.fullmatch(label):
            return f"'{label}' holds characters other than letters, digits and inner '-'"
    return None


def _address_literal_problem(literal: str) -> str | None:
    try:
        if ":" not in literal:
            ipaddress.IPv4Address(literal)
        elif literal[:5].lower() == "ipv6:":
            ipaddress.IPv6Address(literal[5:])
        elif not _GENERAL_LITERAL.fullmatch(literal):
            return "not an address literal"
    except ValueError as error:
        return str(error)
    return None
