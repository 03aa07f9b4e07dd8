"""Extracting stored items again, after the data or the extractor changed, and regrouping."""

from __future__ import annotations

from collections.abc import Callable

from monitor.config import AlertsConfig
from monitor.store.db import Database

REEXTRACT_BATCH = 64  # items per transaction when re-extracting


def reprocess_items(
    db: Database, extractor, settings: AlertsConfig, since: str | None = None, progress=None
) -> tuple[int, int]:
    """Extract stored items again, then regroup every change as a first run would.

    Idempotent, and never re-alerts a change that was already sent (see ``rebuild_changes``).
    Returns (items re-extracted, changes after regrouping).
    """
    from monitor.changes import rebuild_changes

    count = reextract(db, extractor, since, progress)
    return count, rebuild_changes(db, settings)


def reextract(
    db: Database,
    extractor,
    since: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Extract every stored item again (published >= ``since`` when given) and save the
    results, a batch per transaction. ``progress(done_in_batch, total)`` is called after each
    batch. Returns the number of items extracted. Running it twice stores identical rows."""
    from monitor.store.extractions import items_to_extract, save_extractions

    items = items_to_extract(db, since=since, all_items=True)
    for start in range(0, len(items), REEXTRACT_BATCH):
        batch = items[start : start + REEXTRACT_BATCH]
        save_extractions(db, extractor.extract_items(batch, batch_size=REEXTRACT_BATCH))
        if progress is not None:
            progress(len(batch), len(items))
    return len(items)
