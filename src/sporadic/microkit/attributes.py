"""The base of the SDF readers: attributes read as Microkit reads them, errors worded as its own.

Every message is prefixed by ``PATH:LINE:COL`` of the element it is about.
"""

from __future__ import annotations

from sporadic.errors import MicrokitError
from sporadic.microkit.model import (
    BUDGET_DEFAULT_US,
    PCI_BUS_MAX,
    PCI_DEV_MAX,
    PCI_FUNC_MAX,
    PD_MAX_ID,
)
from sporadic.microkit.positions import Node
from sporadic.microkit.rust_numbers import parse_number, rust_int, rust_uint


class AttributeReader:
    """Attribute parsing, errors and warnings shared by every reader of one SDF."""

    def __init__(self, path: str, cores: int | None) -> None:
        self.path = path
        self.cores = cores
        self.warnings: list[str] = []

    def error(self, node: Node, message: str) -> MicrokitError:
        return MicrokitError(self.path, node.line, node.column, message)

    def value_error(self, node: Node, message: str) -> MicrokitError:
        return self.error(node, f"{message} on element '{node.tag}'")

    def check_attrs(self, node: Node, allowed: tuple[str, ...]) -> None:
        for name in node.attrs:
            if name not in allowed:
                raise self.value_error(node, f"invalid attribute '{name}'")

    def req(self, node: Node, name: str) -> str:
        if name not in node.attrs:
            raise self.error(node, f"Missing required attribute '{name}' on element '{node.tag}'")
        return node.attrs[name]

    def num(self, node: Node, name: str, default: int | None = None, bits: int = 64) -> int | None:
        if name not in node.attrs:
            return default
        s = node.attrs[name]
        try:
            return parse_number(s, bits)
        except ValueError as e:
            raise self.error(
                node, f"failed to parse integer '{s}' on element '{node.tag}': {e}"
            ) from None

    def req_num(self, node: Node, name: str, bits: int = 64) -> int:
        self.req(node, name)
        value = self.num(node, name, bits=bits)
        assert value is not None
        return value

    def plain_int(self, node: Node, name: str, unsigned: bool = False) -> int:
        """An attribute Microkit reads with plain integer parsing (no hex, no ``_``)."""
        s = self.req(node, name)
        value = rust_uint(s, 10) if unsigned else rust_int(s)
        if isinstance(value, str):
            raise self.error(
                node, f"failed to parse integer '{s}' on element '{node.tag}': {value}"
            )
        return value

    def boolean(self, node: Node, name: str, default: bool) -> bool:
        if name not in node.attrs:
            return default
        s = node.attrs[name]
        if s not in ("true", "false"):
            raise self.value_error(node, f"{name} must be 'true' or 'false'")
        return s == "true"

    def add_setvar(self, symbols: set[str], symbol: str | None, node: Node) -> None:
        if symbol is None:
            return
        if symbol in symbols:
            raise self.value_error(node, f"setvar on symbol '{symbol}' already exists")
        symbols.add(symbol)

    def check_cpu(self, node: Node, cpu: int) -> None:
        if self.cores is not None and cpu >= self.cores:
            raise self.value_error(node, f"cpu core must be less than {self.cores}, got {cpu}")

    def channel_id(self, node: Node) -> int:
        value = self.plain_int(node, "id")
        if value > PD_MAX_ID:
            raise self.value_error(node, f"id must be < {PD_MAX_ID + 1}")
        if value < 0:
            raise self.value_error(node, "id must be >= 0")
        return value

    def budget_period(self, node: Node) -> tuple[int, int]:
        """Budget and period (us) with Microkit's defaults and check."""
        budget = self.num(node, "budget", BUDGET_DEFAULT_US)
        period = self.num(node, "period", budget)
        assert budget is not None and period is not None
        if budget > period:
            raise self.value_error(
                node, f"budget ({budget}) must be less than, or equal to, period ({period})"
            )
        return budget, period

    def warn(self, line: int, column: int, message: str) -> None:
        self.warnings.append(f"{self.path}:{line}:{column}: {message}")

    @staticmethod
    def pci_device(s: str) -> str:
        """``bb:dd.f`` normalised, or ``#`` + Microkit's parse error."""
        if ":" not in s or "." not in s.split(":", 1)[1]:
            return "#expected PCI address in bus:device.function form"
        bus_s, rest = s.split(":", 1)
        dev_s, func_s = rest.split(".", 1)
        parts = []
        for text, what, top in (
            (bus_s, "bus", PCI_BUS_MAX),
            (dev_s, "device", PCI_DEV_MAX),
            (func_s, "function", PCI_FUNC_MAX),
        ):
            value = rust_int(text.strip(), 16)
            if isinstance(value, str):
                return f"#failed to parse PCI {what}"
            if not 0 <= value <= top:
                return f"#PCI {what} must be within [0..{top}]"
            parts.append(value)
        return f"{parts[0]:02x}:{parts[1]:02x}.{parts[2]:x}"
