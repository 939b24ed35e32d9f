"""Microkit System Description Files: the SDF model, its loader, and the side file that turns a
``.system`` into a simulated system."""

from sporadic.errors import MicrokitError
from sporadic.microkit.loader import load_microkit, parse_microkit
from sporadic.microkit.model import MicrokitSystem
from sporadic.microkit.rust_numbers import parse_number
from sporadic.microkit.workload import default_workload_path, load_system_file

__all__ = [
    "MicrokitError",
    "MicrokitSystem",
    "default_workload_path",
    "load_microkit",
    "load_system_file",
    "parse_microkit",
    "parse_number",
]
