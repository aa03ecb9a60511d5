"""Every message exists in Simplified Chinese and English, and each person gets their own language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from handlers.i18n import LOCALES_DIR, language_from_telegram, translator
from tests.stories import CJK

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{(\w*)\}")
TAG = re.compile(r"</?\w+[^>]*>")


def messages_in_code() -> set[str]:
    found = set()
    for folder in ("bot", "handlers", "adapters", "storage"):
        for _filename, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, keywords={"_": None, "N_": None}, method_map=[("**.py", "python")]
        ):
            found.add(message)
    return found


def catalog(language: str):  # type: ignore[no-untyped-def]
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return read_po(file)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_message_in_the_code_is_translated(language):
    translations = {m.id: m for m in catalog(language) if m.id}
    missing = [m for m in messages_in_code() if m not in translations or not translations[m].string]
    fuzzy = [m.id for m in translations.values() if "fuzzy" in m.flags]
    assert missing == [], f"untranslated in {language} (run locales/update.py and translate): {missing}"
    assert fuzzy == []


def test_no_message_escapes_extraction():
    """`tr(person)("text")` is never extracted, so it would stay English for everyone."""
    hidden = [f"{path.relative_to(ROOT)}:{n}" for folder in ("bot", "handlers", "adapters", "storage") for path in (ROOT / folder).rglob("*.py")
              for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
              if re.search(r"\btr\([^)]*\)\(\s*[\"']", line) or re.search(r"\btranslator\([^)]*\)\(\s*[\"']", line)]
    assert hidden == [], f"write `_ = tr(person)` and then `_(\"...\")`: {hidden}"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_translations_keep_placeholders_and_tags(language):
    for message in catalog(language):
        if not message.id:
            continue
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(PLACEHOLDER.findall(message.string)), message.id
        assert TAG.findall(message.id) == TAG.findall(message.string), message.id
        assert "<" not in TAG.sub("", message.string), message.id


def test_chinese_is_really_chinese():
    untranslated = [m.id for m in catalog("zh")
                    if m.id and m.id == m.string and re.search("[a-zA-Z]{4,}", PLACEHOLDER.sub("", m.id))]
    assert untranslated == []
    assert CJK.search(translator("zh")("📷 Report a problem"))


@pytest.mark.parametrize("code, default, expected", [
    ("zh-hans", "en", "zh"), ("zh-TW", "en", "zh"), ("zh", "en", "zh"), ("en", "zh", "en"), ("en-US", "zh", "en"),
    ("ru", "zh", "zh"), ("ru", "en", "en"), (None, "zh", "zh"), ("", "en", "en"), ("zu", "en", "en"),
])
def test_language_comes_from_telegram(code, default, expected):
    assert language_from_telegram(code, default) == expected


async def test_language_can_be_changed_and_sticks(world):
    citizen = world.person(language_code="en")
    await citizen.say("🌐 Language")
    await citizen.tap("中文")
    assert CJK.search(citizen.last().plain)
    await citizen.say("/help")  # Telegram still says "en"; the person's choice wins
    assert CJK.search(citizen.last().plain)
    await citizen.say(translator("en")("📷 Report a problem"))  # an old English keyboard still works
    assert CJK.search(citizen.last().plain) and "📷" in citizen.last().plain


@pytest.mark.parametrize("language", ["zh", "en"])
def test_catalogs_pass_gettexts_own_checks(language):
    # `msgfmt -c` refuses a catalog whose msgid reads as a %-format ("80% of" is "% o") while its
    # translation does not; Babel's checker is the same rule, so operators' tooling never stops on ours.
    problems = [(message.id, [str(error) for error in errors]) for message, errors in catalog(language).check()]
    assert problems == []
