"""Masking of 居民身份证号码: shown as 420683********1234 to every role that does not need it."""

from __future__ import annotations

import logging
import re
import unicodedata
from urllib.parse import unquote_plus

# 18-character ID numbers (17 digits + digit or X) standing alone, as they would in a log line, or
# after the G of a G字头学籍号 (which is G + the ID number). "Alone" also means right after a
# percent-escape: in a logged URL, "q%3D4206…" or "%20" + ID is an ID after "=" or a space. \d
# matches full-width digits too (４２０６…), and the check digit may be a full-width Ｘ.
ID_NUMBER_RE = re.compile(r"(?:(?<![\dA-Za-z])|(?<=%[0-9A-Fa-f]{2}))(G?\d{6})\d{8}(\d{3}[\dXxＸｘ])(?![\dA-Za-z])")
# A whole 学籍号 (G, J or L + 18) or 身份证号 in a URL's value, once decoded and made half-width.
WHOLE_NUMBER_RE = re.compile(r"(?<![0-9A-Za-z])[GJLgjl]?\d{17}[0-9Xx](?![0-9A-Za-z])", re.ASCII)
# Spaces or dashes typed between digits ("4206 8320 1203 0400 14") do not hide a number.
_DIGIT_GAP_RE = re.compile(r"(?<=\d)[\s\-]+(?=\d)")


def mask_id_number(value: str | None) -> str:
    """Keep the first 6 (the region) and the last 4 characters; star the birth date and sequence."""
    if not value:
        return ""
    value = str(value)
    if len(value) <= 10:
        return "*" * len(value)
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"


def _mask_match(match: re.Match[str]) -> str:
    return f"{match.group(1)}********{match.group(2)}"


def _decoded(text: str) -> str:
    """Percent-escapes decoded (twice: a ?next= value carries an escaped query) and full-width
    characters made half-width (NFKC: ４ → 4, the ideographic space → a space)."""
    for _ in range(2):
        if "%" not in text and "+" not in text:
            break
        text = unquote_plus(text)
    return unicodedata.normalize("NFKC", text)


def mask_id_numbers_in_text(text: str) -> str:
    """Mask every ID number in ``text``. A line in which one shows only once decoded (an ID in a
    percent-encoded URL, say in full-width digits) is kept decoded, with the ID masked."""
    masked = ID_NUMBER_RE.sub(_mask_match, text)
    if "%" in masked:
        decoded = _decoded(masked)
        if ID_NUMBER_RE.search(decoded):
            return ID_NUMBER_RE.sub(_mask_match, decoded)
    return masked


def has_whole_number(value: str) -> bool:
    """Whether a URL's value carries a whole 身份证号 or 学籍号, however written (escaped,
    full-width, with spaces between the digits)."""
    return bool(WHOLE_NUMBER_RE.search(_DIGIT_GAP_RE.sub("", _decoded(value))))


class MaskIdNumbersFilter(logging.Filter):
    """A logging filter that masks any ID number in a record before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call (wrong args) must not raise in the caller: log it as given
            record.msg, record.args = f"{record.msg} {record.args!r}", ()
            message = record.msg
        masked = mask_id_numbers_in_text(message)
        if masked != message:
            record.msg = masked
            record.args = ()
        if record.exc_info and not record.exc_text:
            # A traceback carries IDs too (PostgreSQL: "Key (id_number)=(...) already exists").
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_id_numbers_in_text(record.exc_text)
        return True
