"""Extraction: does an article report a platform changing what it enforces, and what exactly.

``Extractor`` (``monitor.extract.extractor``) turns texts and stored items into ``Extraction``s.
This package reads neither the store nor the reader: re-extracting stored items is chained in
``monitor.pipeline``. Bump ``EXTRACTOR_VERSION`` whenever data files or logic change any
decision: stored extractions of another version are extracted again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monitor.extract.version import EXTRACTOR_VERSION

if TYPE_CHECKING:
    from monitor.extract.extractor import Extractor

__all__ = ["EXTRACTOR_VERSION", "Extractor"]


def __getattr__(name: str) -> Any:  # spaCy loads only when the extractor is used
    if name == "Extractor":
        from monitor.extract.extractor import Extractor

        return Extractor
    raise AttributeError(name)
