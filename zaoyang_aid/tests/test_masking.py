"""Masking of 身份证号: in values, in free text and in log lines."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from zaoyang_aid.masking import MaskIdNumbersFilter, has_whole_number, mask_id_number, mask_id_numbers_in_text

ID = "420683201203040014"
ID_X = "42068320120304009X"


def test_an_id_number_keeps_its_region_and_last_four() -> None:
    assert mask_id_number(ID) == "420683********0014"
    assert mask_id_number(ID_X) == "420683********009X"


@pytest.mark.parametrize(("value", "masked"), [(None, ""), ("", ""), ("1234", "****"), ("1234567890", "**********")])
def test_short_or_empty_values_are_starred_entirely(value: str | None, masked: str) -> None:
    assert mask_id_number(value) == masked


def test_id_numbers_inside_a_sentence_are_masked() -> None:
    text = f"学生身份证号{ID},其兄身份证号{ID_X}。"

    assert mask_id_numbers_in_text(text) == "学生身份证号420683********0014,其兄身份证号420683********009X。"


def test_a_lower_case_x_check_digit_is_masked_too() -> None:
    assert mask_id_numbers_in_text("号码 42068320120304009x 有误") == "号码 420683********009x 有误"


def test_the_id_inside_a_g_student_number_is_masked() -> None:
    assert mask_id_numbers_in_text(f"学籍号G{ID}已存在") == "学籍号G420683********0014已存在"


@pytest.mark.parametrize("digits", ["4206832012030400", "42068320120304001", "4206832012030400141"])
def test_runs_of_other_lengths_are_left_alone(digits: str) -> None:
    assert mask_id_numbers_in_text(f"订单{digits}号") == f"订单{digits}号"


@pytest.fixture
def masked_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose one handler carries the filter, as the console handler does in settings."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskIdNumbersFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("zaoyang_aid.tests.masking")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_the_log_filter_masks_the_formatted_message(masked_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = masked_log

    logger.warning("导入失败:%s 的身份证号 %s 重复", "王小明", ID)

    assert stream.getvalue() == "WARNING 导入失败:王小明 的身份证号 420683********0014 重复\n"


def test_the_log_filter_masks_ids_in_a_traceback(masked_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = masked_log

    try:
        raise ValueError(f"Key (id_number)=({ID}) already exists.")
    except ValueError:
        logger.exception("保存学生失败")

    assert ID not in stream.getvalue()
    assert "Key (id_number)=(420683********0014) already exists." in stream.getvalue()


def test_a_malformed_log_call_does_not_raise_and_is_still_masked(
    masked_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = masked_log

    logger.warning("%s 与 %s 重复", ID)  # one argument short

    assert ID not in stream.getvalue()
    assert "420683********0014" in stream.getvalue()


def test_a_message_without_an_id_keeps_its_arguments() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "第%s周", (3,), None)

    assert MaskIdNumbersFilter().filter(record)
    assert (record.msg, record.args) == ("第%s周", (3,))


def test_the_filter_masks_records_caught_by_caplog(caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(MaskIdNumbersFilter())
    logging.getLogger("zaoyang_aid.tests.caplog").warning("身份证号 %s", ID)

    assert caplog.messages == ["身份证号 420683********0014"]


# --- IDs in URLs, as a request line logs them ----------------------------------------------------

FULL_WIDTH_ID = "４２０６８３２０１２０３０４００１４"


@pytest.mark.parametrize(
    "line",
    [
        f"GET /students/?q=%20{ID} HTTP/1.1",
        f"GET /students/?q={ID}%20 HTTP/1.1",
        f"GET /students/?q=%20{ID}%20&page=2 HTTP/1.1",
        f"GET /students/?q=%0A{ID} HTTP/1.1",
        f"GET /students/?q%3D{ID} HTTP/1.1",
        f"GET /accounts/login/?next=/students/%3Fq%3D{ID} HTTP/1.1",
        f"GET /students/?q=%E3%80%80{ID}%E3%80%80 HTTP/1.1",
        f"GET /students/?q=G{ID}%0A HTTP/1.1",
    ],
)
def test_an_id_after_or_around_a_percent_escape_is_masked(line: str) -> None:
    masked = mask_id_numbers_in_text(line)

    assert ID not in masked
    assert "420683********0014" in masked


def test_an_id_in_full_width_digits_is_masked() -> None:
    masked = mask_id_numbers_in_text(f"身份证号{FULL_WIDTH_ID}重复")

    assert masked == "身份证号４２０６８３********００１４重复"


def test_a_full_width_id_percent_encoded_in_a_url_is_masked() -> None:
    line = f"GET /students/?q={quote(FULL_WIDTH_ID)} HTTP/1.1"

    masked = mask_id_numbers_in_text(line)

    assert quote(FULL_WIDTH_ID) not in masked and ID not in masked
    assert "420683********0014" in masked


def test_a_full_width_x_check_digit_is_masked() -> None:
    assert mask_id_numbers_in_text("号码42068320120304009Ｘ") == "号码420683********009Ｘ"


def test_the_log_filter_masks_a_request_line_with_escapes(masked_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = masked_log

    for escape in ("%20", "%0A", "%3D", "%E3%80%80"):
        logger.info('"GET /students/?q=%s%s HTTP/1.1" 302 0', escape, ID)

    assert ID not in stream.getvalue()
    assert stream.getvalue().count("420683********0014") == 4


def test_a_url_without_an_id_is_logged_as_it_came() -> None:
    line = "GET /students/?q=%E5%BC%A0&page=2 HTTP/1.1"

    assert mask_id_numbers_in_text(line) == line


@pytest.mark.parametrize(
    "value",
    [ID, f"G{ID}", f" {ID}\n", FULL_WIDTH_ID, "4206 8320 1203 0400 14", f"%20{ID}", quote(f"/students/?q={ID}")],
)
def test_a_whole_number_is_found_however_it_is_written(value: str) -> None:
    assert has_whole_number(value)


@pytest.mark.parametrize("value", ["0014", "张小明", "2026-11-02", ID[:16], "page=2&since=2026-01-01"])
def test_tails_names_and_dates_are_not_whole_numbers(value: str) -> None:
    assert not has_whole_number(value)
