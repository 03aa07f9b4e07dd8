"""Browsing the database in Datasette: metadata, settings and templates that ship in the package,
and the launcher behind ``policy-monitor browse``. Read-only: nothing here writes."""
