"""The default log sink: Wintun's log lines go to the ``logging`` logger named "wintun".

Installed at import and by ``set_logger(None)``; written in Python so that it needs nothing from
the C side but the callback bridge.
"""
from __future__ import annotations

import logging

logger = logging.getLogger("wintun")

_LEVELS = {0: logging.INFO, 1: logging.WARNING, 2: logging.ERROR}

#: Seconds between 1601-01-01 and 1970-01-01, the FILETIME and Unix epochs.
FILETIME_EPOCH_OFFSET = 11644473600


def filetime_to_unix(timestamp: int) -> float:
    """A FILETIME (100 ns units since 1601-01-01 UTC) as Unix seconds."""
    return timestamp / 10_000_000 - FILETIME_EPOCH_OFFSET


def logging_callback(level: int, timestamp: int, message: str) -> None:
    """Forward one Wintun log line to logging.getLogger("wintun"), keeping Wintun's own time."""
    py_level = _LEVELS.get(level, logging.ERROR)
    if not logger.isEnabledFor(py_level):
        return
    record = logger.makeRecord(logger.name, py_level, "(wintun)", 0, message, None, None)
    created = filetime_to_unix(timestamp)
    record.created = created
    record.msecs = (created - int(created)) * 1000
    record.wintun_timestamp = timestamp
    logger.handle(record)
