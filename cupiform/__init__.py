"""cupiform: Cisco Unity Connection objects managed as code."""

__version__ = "0.1.0"
