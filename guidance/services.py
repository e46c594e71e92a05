"""Writes of the guidance app, each inside one transaction; keyword-only arguments."""

from __future__ import annotations

from django.db import transaction  # noqa: F401 - every service below is atomic

# --- Talk records ----------------------------------------------------------------------------


# --- Home visits -----------------------------------------------------------------------------


# --- Excused weeks ---------------------------------------------------------------------------
