"""`gridline media move`: every photo file copied from the data folder into an S3-compatible
bucket, each one checked (read back and hashed: photos are named by their SHA-256), in passes
until a pass finds no photo that arrived meanwhile. The old files stay until the operator removes
them: the S3 store reads a photo not yet in the bucket from the data folder, so photos arriving
between the move and the switch are served, and running the move again copies them too."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from storage import photos
from storage.db import Store
from storage.media_store import MediaStore, S3Store

log = logging.getLogger(__name__)

BATCH = 500


@dataclass
class MoveReport:
    copied: int = 0
    already: int = 0  # in the bucket already, with the right content
    passes: int = 0
    problems: list[str] = field(default_factory=list)


async def _move_one(source: MediaStore, target: S3Store, path: str, sha256: str, report: MoveReport) -> None:
    if await target.verified(path, sha256):
        report.already += 1
        return
    try:
        content = await source.read(path)
    except FileNotFoundError:
        report.problems.append(f"{path}: missing from {source.where}")
        return
    if hashlib.sha256(content).hexdigest() != sha256:
        report.problems.append(f"{path}: damaged in {source.where} (its content does not match its name)")
        return
    await target.write(path, content)
    if not await target.verified(path, sha256):
        report.problems.append(f"{path}: read back from {target.where} with other content")
        return
    report.copied += 1


async def move_photos(store: Store, source: MediaStore, target: S3Store,
                      after_pass: Callable[[MoveReport], Awaitable[None]] | None = None,
                      progress: Callable[[int], None] | None = None) -> MoveReport:
    """Copy and check every photo; a photo recorded during a pass is taken by the next pass."""
    report = MoveReport()
    last = 0
    while True:
        report.passes += 1
        found = 0
        while True:
            async with store.transaction() as session:
                batch = await photos.photos_after(session, last, BATCH)
            for photo_id, path, sha256 in batch:
                await _move_one(source, target, path, sha256, report)
                last = photo_id
            found += len(batch)
            if progress is not None:
                progress(report.copied + report.already + len(report.problems))
            if len(batch) < BATCH:
                break
        if after_pass is not None:
            await after_pass(report)
        if found == 0:
            return report
