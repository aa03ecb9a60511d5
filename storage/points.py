"""What counts as a place on Earth, and as a typed address, before either is stored.

Points arrive from Telegram locations and venues, photo EXIF, Open311 POSTs and the map: a forged
update or a broken client can send NaN, infinity or a latitude of 500, and none of that may be stored.
"""

from __future__ import annotations

import math
from typing import SupportsFloat, cast

from storage import characters

MIN_ADDRESS_CHARACTERS = 3
MAX_ADDRESS = 300  # characters of a typed address, as it is kept (`cleaned_address`)




def is_valid_point(latitude: object, longitude: object) -> bool:
    """True for a finite WGS-84 latitude in -90..90 and longitude in -180..180."""
    try:
        # Any value may come: float() takes what it can and raises for the rest, which is no point.
        lat = float(cast(SupportsFloat, latitude))
        lon = float(cast(SupportsFloat, longitude))
    except (TypeError, ValueError):
        return False
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return False
    return -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0


def visible_characters(text: str) -> str:
    """The text without control, format (zero-width) and separator characters, and without combining
    marks (an accent sits on a letter, it is no character of its own): what a reader counts."""
    return "".join(ch for ch in text if not characters.is_uncounted(ch))


def is_meaningful_address(text: str) -> bool:
    """A typed address needs at least three characters a person can see."""
    return len(visible_characters(text)) >= MIN_ADDRESS_CHARACTERS


class InvalidPoint(ValueError):
    """A point no place on Earth has; the store refuses it whoever sends it."""


def require_valid_point(latitude: float, longitude: float) -> None:
    """Raise InvalidPoint unless the point is a valid one (a backstop under every caller's own check)."""
    if not is_valid_point(latitude, longitude):
        raise InvalidPoint(f"not a point on Earth: {latitude!r}, {longitude!r}")


def cleaned_address(text: str) -> str:
    """A typed address as it is kept: control and zero-width characters dropped, spaces collapsed."""
    kept = "".join(ch for ch in text if ch.isspace() or not characters.is_hidden(ch))
    return " ".join(kept.split())
