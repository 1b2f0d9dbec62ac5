"""Build-time work on the translation catalogs, with Babel (a build and test dependency,
never needed to run glmtray):

- `extract()`: every marked string of the package (`_`, `N_`, `ngettext`, `pgettext`, and
  the widgets' `tr`/`_tr`) as a catalog;
- `update()`: merge that into each `locale/<lang>/LC_MESSAGES/glmtray.po` (new strings
  come in untranslated, gone ones are dropped);
- `compile_catalogs()`: `.po` -> `.mo`, run by `make`, the wheel's build_py step
  (setup.py) and before the PyInstaller bundle is made;
- `pseudo_catalog()`: every msgstr marked "⟦...⟧", for the tests that look for text that
  escaped translation;
- `placeholders()`: the `{name}`, `%s`, `%(x)s`, `%n` a text holds, for the test that a
  translation keeps them all.

    python -m glmtray.catalogs update     # after changing marked strings
    python -m glmtray.catalogs compile    # what the build does
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PACKAGE_DIR = Path(__file__).resolve().parent
LOCALE_DIR = PACKAGE_DIR / "locale"
DOMAIN = "glmtray"

KEYWORDS: dict[str, tuple[int | tuple[int, str], ...] | None] = {
    "_": None,
    "N_": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "tr": (1,),  # QObject.tr(source, disambiguation=None, n=-1)
    "_tr": None,  # header_section: QCoreApplication.translate with a fixed context
    "localized": None,  # i18n.localized: translated text that keeps its English
}
EXCLUDED = ("simulator/", "catalogs.py")
"""The simulator speaks as the platform does (its Chinese texts are the platform's own);
this module's docstring examples are no user text."""

PSEUDO_OPEN, PSEUDO_CLOSE = "⟦", "⟧"

_PLACEHOLDER = re.compile(
    r"\{[A-Za-z_][A-Za-z0-9_]*(?:![rsa])?(?::[^{}]*)?\}"  # {name}, {name:,}
    r"|%\([A-Za-z_]+\)[-#0 +]*\d*(?:\.\d+)?[sdifrx]"  # %(name)s
    r"|%[-#0 +]*\d*(?:\.\d+)?[sdifrx]"  # %s, %d, %5.1f
    r"|%n|%[1-9]"  # Qt's count and positional arguments
)


def placeholders(text: str) -> list[str]:
    """The placeholders in `text`, sorted (a translation may reorder them, not drop or add
    any). `%%` is a literal percent sign, not a placeholder."""
    return sorted(_PLACEHOLDER.findall(text.replace("%%", "")))


def extract(package_dir: Path = PACKAGE_DIR) -> Catalog:
    """Every marked string under `package_dir`, with where it is used."""
    catalog = Catalog(project="glmtray", domain=DOMAIN, charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(package_dir),
        method_map=[("**.py", "python")],
        keywords=KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    ):
        if any(part in filename.replace("\\", "/") for part in EXCLUDED):
            continue
        if not message or (isinstance(message, tuple) and not all(message)):
            continue
        catalog.add(
            message,
            None,
            [(f"glmtray/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    return catalog


def catalog_paths(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    return sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, domain=DOMAIN)


def write_catalog(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        # File names without line numbers: every edit elsewhere would otherwise rewrite them.
        write_po(
            handle,
            catalog,
            width=100,
            sort_output=False,
            ignore_obsolete=True,
            include_lineno=False,
        )


def update(locale_dir: Path = LOCALE_DIR) -> None:
    """Merge the extracted strings into every language's .po file."""
    template = extract()
    for path in catalog_paths(locale_dir):
        catalog = read_catalog(path)
        created, before = catalog.creation_date, {m.id for m in catalog}
        catalog.update(template, no_fuzzy_matching=True)
        if {m.id for m in catalog} == before:
            # The header's date moves only when the strings do: no diff for a plain update.
            catalog.creation_date = created
        catalog.project, catalog.version = "glmtray", ""
        catalog.msgid_bugs_address = "https://github.com/glmtray/glmtray/issues"
        write_catalog(catalog, path)


def compile_catalog(po_path: Path, mo_path: Path | None = None) -> Path:
    """`po_path` compiled next to itself (or to `mo_path`); fuzzy entries are left out."""
    target = mo_path or po_path.with_suffix(".mo")
    catalog = read_catalog(po_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        write_mo(handle, catalog, use_fuzzy=False)
    return target


def compile_catalogs(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    return [compile_catalog(path) for path in catalog_paths(locale_dir)]


def ensure_compiled(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Compile the catalogs whose .mo is missing or older than its .po (what `make` does,
    for a test run started without it); returns those compiled."""
    stale = [
        path
        for path in catalog_paths(locale_dir)
        if not path.with_suffix(".mo").exists()
        or path.with_suffix(".mo").stat().st_mtime < path.stat().st_mtime
    ]
    return [compile_catalog(path) for path in stale]


def _mark(text: str) -> str:
    return f"{PSEUDO_OPEN}{text}{PSEUDO_CLOSE}" if text else text


def pseudo_catalog(template: Catalog, locale: str = "zh_CN") -> Catalog:
    """Every string of `template` "translated" to itself marked ⟦...⟧ (placeholders kept,
    so formatting still works): text shown without the marks escaped translation."""
    pseudo = Catalog(locale=locale, domain=DOMAIN, charset="utf-8")
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, str):
            strings: str | tuple[str, ...] = _mark(message.id)
        else:
            plural = str(message.id[1])
            strings = tuple(_mark(plural) for _ in range(pseudo.num_plurals))
        pseudo.add(message.id, strings, context=message.context)
    return pseudo


def write_mo_file(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_mo(handle, catalog)


def untranslated(catalog: Catalog) -> list[Message]:
    """Entries with no translation (or only a fuzzy one)."""
    found = []
    for message in catalog:
        if not message.id:
            continue
        strings: Iterable[str | None] = (
            message.string if isinstance(message.string, (tuple, list)) else [message.string]
        )
        if message.fuzzy or not all(strings):
            found.append(message)
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "update":
        update()
    elif command == "compile":
        for path in compile_catalogs():
            print(f"compiled {path}")
    else:
        print("usage: python -m glmtray.catalogs update|compile", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
