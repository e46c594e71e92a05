"""Masking of 居民身份证号码: shown as 420683********1234 to every role that does not need it."""

from __future__ import annotations

import logging
import re

# 18-character ID numbers (17 digits + digit or X) standing alone, as they would in a log line, or
# after the G of a G字头学籍号 (which is G + the ID number).
ID_NUMBER_RE = re.compile(r"(?<![0-9A-Za-z])(G?\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")


def mask_id_number(value: str | None) -> str:
    """Keep the first 6 (the region) and the last 4 characters; star the birth date and sequence."""
    if not value:
        return ""
    value = str(value)
    if len(value) <= 10:
        return "*" * len(value)
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"


def mask_id_numbers_in_text(text: str) -> str:
    return ID_NUMBER_RE.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)


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
