"""The screen's own words, from gettext catalogs: Polish first, English second.

Message ids are the English wording; ``assets/locale/<lang>/LC_MESSAGES/kiosk.mo`` holds each
language. The check-in rules' own sentences come with both languages already
(``kiosk.messages.Text``) and are shown as they are.
"""

from __future__ import annotations

import gettext
import logging
from pathlib import Path

log = logging.getLogger(__name__)

DOMAIN = "kiosk"
LANGUAGES = ("pl", "en")  # the order of the language switch


def N_(message: str) -> str:
    """Marks a message id for the catalogs where it is defined, not where it is shown."""
    return message


class Translator:
    def __init__(self, locale_dir: Path) -> None:
        self.catalogs: dict[str, gettext.NullTranslations] = {}
        self.missing_catalogs: list[str] = []
        for language in LANGUAGES:
            try:
                self.catalogs[language] = gettext.translation(
                    DOMAIN, localedir=str(locale_dir), languages=[language]
                )
            except OSError:
                log.error(
                    "no %s catalog for %s in %s; showing the English ids instead "
                    "(run python assets/locale/compile.py)", DOMAIN, language, locale_dir,
                )
                self.missing_catalogs.append(language)
                self.catalogs[language] = gettext.NullTranslations()

    def __call__(self, message: str, language: str, **values: object) -> str:
        catalog = self.catalogs.get(language) or self.catalogs["pl"]
        text = catalog.gettext(message)
        return text.format(**values) if values else text
