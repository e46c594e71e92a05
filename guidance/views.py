"""Pages of the guidance app: thin, scoped through visible_to, one section per concern."""

from __future__ import annotations

# --- The teacher's week ----------------------------------------------------------------------


# --- Talk records ----------------------------------------------------------------------------


# --- Home visits -----------------------------------------------------------------------------


# --- Dashboards and excused weeks ------------------------------------------------------------
