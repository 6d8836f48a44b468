"""Messages in the reader's language: GNU gettext catalogs read by the stdlib ``gettext``.

English is the source language (the message ids); Chinese lives in
``govcloud/locale/zh_CN/LC_MESSAGES/govcloud.po`` and its compiled ``.mo`` (package data). The
language is chosen the way gettext programs choose it: ``--lang`` on the command line, else the
first of ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set; any ``zh*`` value reads
Chinese, anything else (``C``, ``en_US.UTF-8``, unset) English. The CLI calls
``set_language`` once per command; the core only calls ``_``/``ngettext``/``pick``.

A message with values uses named ``{name}`` fields and ``.format(...)`` after the lookup, so
the translator can move a value within the sentence (Chinese word order differs); never build a
message from pieces.
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Mapping
from functools import cache
from importlib import resources

DOMAIN = "govcloud"
LANGUAGES = ("en", "zh")
CATALOG_LOCALE = {"zh": "zh_CN"}  # language -> the catalog folder under locale/
ENV_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")  # gettext's order


def locale_dir() -> str:
    return str(resources.files("govcloud") / "locale")


def language_from_env(environ: Mapping[str, str] | None = None) -> str:
    """``zh`` or ``en`` from the locale variables, in gettext's order (the first one set wins;
    ``LANGUAGE`` is a colon-separated list, its first entry counts)."""
    env = os.environ if environ is None else environ
    for name in ENV_VARS:
        value = env.get(name, "")
        if name == "LANGUAGE":
            value = value.split(":")[0]
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def normalize(lang: str) -> str:
    """``zh``, ``zh_CN``, ``zh-CN.UTF-8`` -> ``zh``; ``en*``, ``C`` -> ``en``; else ValueError."""
    value = lang.strip().lower().replace("-", "_")
    if value.startswith("zh"):
        return "zh"
    if value.startswith("en") or value in ("c", "posix"):
        return "en"
    raise ValueError(f"unknown language {lang!r}; use one of: {', '.join(LANGUAGES)}")


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The catalog of ``lang`` (English: the message ids themselves)."""
    if lang == "en":
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, locale_dir(), languages=[CATALOG_LOCALE[lang]])


class _State:
    language = language_from_env()


def set_language(lang: str | None = None) -> str:
    """Choose the language of every message from now on (None: from the environment)."""
    _State.language = language_from_env() if lang is None else normalize(lang)
    return _State.language


def current_language() -> str:
    return _State.language


def _(message: str) -> str:
    """The message in the current language (the English id when there is no translation)."""
    if _State.language == "en":
        return message
    return translations(_State.language).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    if _State.language == "en":
        return singular if n == 1 else plural
    return translations(_State.language).ngettext(singular, plural, n)


def pick(english: str, chinese: str) -> str:
    """Of a text that content carries in both languages (a policy's title, a control's title):
    the reader's, falling back to English where the Chinese is missing."""
    return chinese if _State.language == "zh" and chinese else english


def N_(message: str) -> str:
    """Marks a message for the catalog where it is defined (a registry entry, a constant) and
    is translated later, where it is shown, with ``_(message)``."""
    return message
