"""Every text the bot, the panel and the engine say is in both catalogs: `babel.cfg` finds each msgid the code uses
(`_("…")`, `.t("…")`, `.tn("…", "…")`, the panel's templates), and neither the Russian nor the English catalog lacks
one — a text missing from the Russian catalog reaches a Russian reader in English."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from services.i18n import LANGUAGES, LOCALES

ROOT = Path(__file__).resolve().parent.parent


def used_msgids() -> dict[str, str]:
    """Each msgid `pybabel extract -F babel.cfg` finds, with the first place it is used."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str, str] = {}
    for filename, line, message, _comments, _context in extract_from_dir(ROOT, method_map, options_map):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found.setdefault(msgid, f"{filename}:{line}")
    return found


def test_every_msgid_the_code_uses_is_in_each_catalog() -> None:
    used = used_msgids()
    assert "Reassign" in used and "Wrong token." in used  # the panel's templates and a text marked with _()
    assert "⚠️ %(n)s working day overdue" in used  # a plural's, through tn()
    for lang in LANGUAGES:
        with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
            catalog = read_po(po, locale=lang)
        have = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        missing = {msgid: where for msgid, where in used.items() if msgid not in have}
        assert not missing, (lang, missing)


def test_every_entry_of_each_catalog_has_its_msgstr_and_the_russian_ones_say_something() -> None:
    """An entry whose `msgstr` line was lost (two branches' entries merged by hand) is read by gettext with a warning
    printed wherever the catalog is compiled — `konveyer check` printed it before its answer: read here as the
    error it is, at its line. A Russian `msgstr` left empty shows the Russian reader the English msgid. (An English
    `msgstr` is empty by design: the msgids are the English texts, which gettext gives when the msgstr is empty.)"""
    for lang in LANGUAGES:
        with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
            catalog = read_po(po, locale=lang, abort_invalid=True)
        if lang == "ru":
            empty = [m.id for m in catalog if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])]
            assert not empty, empty
