"""The numbered rule catalogue (``rules.toml``) and its loader (ARCHITECTURE.md "Rule ids")."""

from __future__ import annotations

from conformance.rules.catalogue import (
    COMPONENTS,
    DEFAULT_PATH,
    FAMILIES,
    GENERATIONS,
    LEVELS,
    Catalogue,
    Rule,
    format_catalogue,
    load_catalogue,
    markdown_table,
    parse_catalogue,
    validate_generation,
)

__all__ = [
    "COMPONENTS",
    "DEFAULT_PATH",
    "FAMILIES",
    "GENERATIONS",
    "LEVELS",
    "Catalogue",
    "Rule",
    "format_catalogue",
    "load_catalogue",
    "markdown_table",
    "parse_catalogue",
    "validate_generation",
]
