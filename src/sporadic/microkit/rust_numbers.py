"""Numbers as Microkit's tool reads them, failing with Rust's error texts for its messages."""

from __future__ import annotations


def rust_uint(s: str, base: int, bits: int = 64) -> int | str:
    """Rust's ``uN::from_str_radix``: the value, or Rust's error text."""
    if s == "":
        return "cannot parse integer from empty string"
    body = s[1:] if s[0] == "+" else s
    digits = "0123456789abcdef"[:base]
    if body == "" or any(c not in digits for c in body.lower()):
        return "invalid digit found in string"
    value = int(body, base)
    if value >= 1 << bits:
        return "number too large to fit in target type"
    return value


def rust_int(s: str, base: int = 10) -> int | str:
    """Rust's ``i64::from_str_radix``: the value, or Rust's error text."""
    if s == "":
        return "cannot parse integer from empty string"
    sign, body = (-1, s[1:]) if s[0] == "-" else (1, s[1:] if s[0] == "+" else s)
    digits = "0123456789abcdef"[:base]
    if body == "" or any(c not in digits for c in body.lower()):
        return "invalid digit found in string"
    value = sign * int(body, base)
    if value >= 1 << 63:
        return "number too large to fit in target type"
    if value < -(1 << 63):
        return "number too small to fit in target type"
    return value


def parse_number(s: str, bits: int = 64) -> int:
    """Microkit's ``sdf_parse_number``: decimal or ``0x`` hex, ``_`` separators ignored."""
    body = s.replace("_", "")
    value = rust_uint(body[2:], 16, bits) if body.startswith("0x") else rust_uint(body, 10, bits)
    if isinstance(value, str):
        raise ValueError(value)
    return value
