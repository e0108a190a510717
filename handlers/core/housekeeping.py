"""Housekeeping that needs no separate job: while the app runs, every HOUSEKEEPING_SECONDS (and once
at start-up) each worker purges expired idempotency keys and tombstones past TOMBSTONE_DAYS. The
deletes are idempotent, so several workers or replicas doing it at once only repeat each other."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from anyio import to_thread
from sqlalchemy import Engine

from handlers.core.config import Settings
from models import changes, idempotency_keys
from models.clock import utc_now
from models.db import transaction

log = logging.getLogger(__name__)
HOUSEKEEPING_SECONDS = 3600.0


def purge_once(engine: Engine, settings: Settings) -> tuple[int, int]:
    """(idempotency keys, tombstones) deleted."""
    now = utc_now()
    with transaction(engine) as conn:
        keys = idempotency_keys.purge_expired(conn, now)
        tombs = changes.purge_tombstones(conn, now - timedelta(days=settings.tombstone_days))
    return keys, tombs


async def run(engine: Engine, settings: Settings, interval: float = HOUSEKEEPING_SECONDS) -> None:
    while True:
        try:
            keys, tombs = await to_thread.run_sync(purge_once, engine, settings)
            if keys or tombs:
                log.info("housekeeping", extra={"idempotency_keys": keys, "tombstones": tombs})
        except Exception as error:  # the database may be down; the next round tries again
            log.warning("housekeeping failed: %s", type(error).__name__)
        await asyncio.sleep(interval)
