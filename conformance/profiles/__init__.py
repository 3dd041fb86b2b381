"""Profiles: the shipped TOML profiles and their validating loader (PROTOCOL.md §0)."""

from __future__ import annotations

from conformance.profiles.loader import (
    CANONICAL_ENTRY_POINT,
    Generation,
    Profile,
    WebhookSettings,
    load_profile,
    shipped_profiles,
)

__all__ = [
    "CANONICAL_ENTRY_POINT",
    "Generation",
    "Profile",
    "WebhookSettings",
    "load_profile",
    "shipped_profiles",
]
