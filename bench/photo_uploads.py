"""What it costs to make a picture a citizen sent as a file meet sendPhoto's rules, and that the
event loop stays free meanwhile.

    .venv/bin/python bench/photo_uploads.py

For an 11 MB JPEG (scaled), an 8944 x 8944 PNG (scaled) and a 12000 x 500 panorama (a document
without its EXIF): the time to make the copy the first time, the time when it is already made,
the size sent, and the longest the event loop waited for a 1 ms tick while the copy was made.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.photo_rules import upload_for


def pictures() -> dict[str, tuple[str, bytes]]:
    noise = Image.frombytes("RGB", (2800, 2000), os.urandom(2800 * 2000 * 3))
    big = io.BytesIO()
    noise.save(big, "JPEG", quality=100)
    square = io.BytesIO()
    Image.new("RGB", (8944, 8944), (200, 180, 40)).save(square, "PNG")
    panorama = io.BytesIO()
    Image.new("RGB", (12000, 500), (90, 120, 200)).save(panorama, "JPEG", quality=95)
    return {"11 MB JPEG": ("big.jpg", big.getvalue()), "8944x8944 PNG": ("square.png", square.getvalue()),
            "12000x500 panorama": ("panorama.jpg", panorama.getvalue())}


async def longest_tick_gap(work: asyncio.Future) -> float:  # type: ignore[type-arg]
    longest = 0.0
    while not work.done():
        before = time.perf_counter()
        await asyncio.sleep(0.001)
        longest = max(longest, time.perf_counter() - before - 0.001)
    return longest


async def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory)
        (data_dir / "photos").mkdir()
        print(f"{'picture':<20} {'file':>9} {'first':>8} {'again':>8} {'sent':>9} {'as':>9} {'loop gap':>9}")
        for label, (name, content) in pictures().items():
            (data_dir / "photos" / name).write_bytes(content)
            started = time.perf_counter()
            work = asyncio.ensure_future(asyncio.to_thread(upload_for, data_dir, f"photos/{name}"))
            gap = await longest_tick_gap(work)
            upload = await work
            first = time.perf_counter() - started
            started = time.perf_counter()
            upload_for(data_dir, f"photos/{name}")
            again = time.perf_counter() - started
            print(f"{label:<20} {len(content) / 1e6:>7.1f}MB {first:>7.2f}s {again * 1000:>6.1f}ms "
                  f"{len(upload.content) / 1e6:>7.2f}MB {'photo' if upload.as_photo else 'document':>9} {gap * 1000:>7.1f}ms")


if __name__ == "__main__":
    asyncio.run(main())
