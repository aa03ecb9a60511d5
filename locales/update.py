"""Refresh the catalogs after changing messages in the code (Babel's extract / update workflow).

    .venv/bin/python locales/update.py

Extracts every `_()` and `N_()` string into locales/messages.pot, merges it into each language's
messages.po (new strings arrive untranslated; tests fail until they are translated), and fills the
English catalog, whose source text is already English. `pybabel compile -d locales -D messages`
builds .mo files for other tools; the bot itself reads the .po files.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"


def pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)


def fill_english() -> None:
    path = LOCALES / "en" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        catalog = read_po(file, locale="en")
    for message in catalog:
        if message.id and not message.string:
            message.string = message.id
        message.flags.discard("fuzzy")
    with path.open("wb") as file:
        write_po(file, catalog, width=0)


def main() -> None:
    pybabel("extract", "-F", "babel.cfg", "-k", "N_", "--no-wrap", "--sort-by-file",
            "--project", "Gridline", "-o", "locales/messages.pot", ".")
    for language in ("zh", "en"):
        po = LOCALES / language / "LC_MESSAGES" / "messages.po"
        if po.exists():
            pybabel("update", "-i", "locales/messages.pot", "-d", "locales", "-D", "messages", "-l", language,
                    "--no-wrap", "--no-fuzzy-matching", "--ignore-obsolete")
        else:
            pybabel("init", "-i", "locales/messages.pot", "-d", "locales", "-D", "messages", "-l", language, "--no-wrap")
    fill_english()


if __name__ == "__main__":
    main()
