"""Extraction: does an article report a platform changing what it enforces, and what exactly.

``Extractor`` (``monitor.extract.extractor``) turns texts and stored items into ``Extraction``s;
``reextract`` runs it again over stored items after the data or the logic changed.
Bump ``EXTRACTOR_VERSION`` whenever data files or logic change any decision: stored extractions
of another version are extracted again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

EXTRACTOR_VERSION = "2026.11.4"
REEXTRACT_BATCH = 64

if TYPE_CHECKING:
    from monitor.extract.extractor import Extractor
    from monitor.store.db import Database

__all__ = ["EXTRACTOR_VERSION", "Extractor", "reextract"]


def __getattr__(name: str) -> Any:  # spaCy loads only when the extractor is used
    if name == "Extractor":
        from monitor.extract.extractor import Extractor

        return Extractor
    raise AttributeError(name)


def reextract(
    db: Database,
    extractor: Extractor,
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
