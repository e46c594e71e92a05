"""部门名单比对, the reading: a department's list as it comes (title rows, its own column names, a
household's members, 残疾证号, notes under the table, .xls or .xlsx) reduced to its valid ID numbers;
files that are not Excel, too large or zip bombs refused with a Chinese message."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from casefiles.crosscheck import describe_rows, ids_in_row, read_department_list
from pairing.tests.factories import make_id_number

from .crosscheck_files import (
    HOUSEHOLDER_ID,
    STRANGER_ID,
    dibao_household_list,
    disability_list,
    plain_list,
    xls_bytes,
    xlsx_bytes,
)

ID1 = make_id_number(411, dt.date(2012, 3, 4))
ID2 = make_id_number(412, dt.date(2011, 7, 9), male=False)
MAX = 2 * 1024 * 1024


def read(data: bytes, name: str = "名单.xlsx", max_bytes: int = MAX):  # type: ignore[no-untyped-def]
    return read_department_list(SimpleUploadedFile(name, data), max_bytes=max_bytes)


def test_a_household_list_under_title_rows_yields_every_members_id_and_skips_the_footer() -> None:
    got = read(xlsx_bytes(dibao_household_list(ID1, ID2)))
    assert got.ids == {STRANGER_ID, HOUSEHOLDER_ID, ID1, ID2}
    assert got.header_row == 3
    assert got.rows_read == 3  # the 合计 and 填表人 rows are notes, not people
    assert got.rows_without_id == []


def test_an_xls_from_the_departments_system_is_read_the_same() -> None:
    got = read(xls_bytes(dibao_household_list(ID1)), name="低保.xls")
    assert ID1 in got.ids


def test_a_disability_certificate_number_counts_by_its_first_18_characters() -> None:
    got = read(xlsx_bytes(disability_list(ID1)))
    assert got.ids == {STRANGER_ID, ID1}


@pytest.mark.parametrize("header", ["公民身份号码", "证件号码", "身份证号", "身份证件号(必填)"])
def test_each_departments_spelling_of_the_id_column_is_found(header: str) -> None:
    assert ID2 in read(xlsx_bytes(plain_list(header, ID2))).ids


def test_ids_written_with_spaces_lower_case_x_or_full_width_digits_are_matched() -> None:
    with_x = next(make_id_number(n) for n in range(500, 600) if make_id_number(n).endswith("X"))
    spaced = f"{ID1[:6]} {ID1[6:14]} {ID1[14:]}"
    full_width = ID2.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert ids_in_row([spaced, with_x.lower(), full_width]) == {ID1, with_x, ID2}


def test_a_cell_listing_several_members_yields_each() -> None:
    assert ids_in_row([f"张三{ID1}、李四 {ID2}"]) == {ID1, ID2}


def test_a_bad_checksum_or_an_id_stored_as_a_number_is_not_matched_and_its_row_is_named() -> None:
    bad = ID1[:-1] + ("0" if ID1[-1] != "0" else "1")
    rows = [
        *plain_list("身份证号", ID2),
        ["错号", bad, "琚湾镇", "某村"],
        ["数字", float(ID1[:15] + "000"), "琚湾镇", "某村"],
    ]
    got = read(xlsx_bytes(rows))
    assert got.ids == {STRANGER_ID, ID2}
    assert got.rows_without_id == [4, 5]
    assert describe_rows(got.rows_without_id) == "第4、5行"
    assert describe_rows(list(range(1, 30))).endswith("等29行")


def test_a_sheet_without_an_id_column_is_refused_with_a_message() -> None:
    with pytest.raises(ValidationError) as caught:
        read(xlsx_bytes([["姓名", "乡镇"], ["张三", "吴店镇"]]))
    assert caught.value.code == "no_id_column"
    assert "身份证号列" in caught.value.messages[0]


def test_an_id_column_without_a_valid_number_is_refused_with_a_message() -> None:
    with pytest.raises(ValidationError) as caught:
        read(xlsx_bytes([["姓名", "身份证号"], ["张三", "4.20683E+17"]]))
    assert caught.value.code == "no_ids"
    assert "科学计数法" in caught.value.messages[0]


def test_a_file_that_is_not_excel_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        read("姓名,身份证号\n张三,{ID1}\n".encode(), name="名单.csv")
    assert caught.value.code == "not_excel"
    assert "不是Excel表格" in caught.value.messages[0]


def test_a_file_over_the_limit_is_refused_before_it_is_read() -> None:
    with pytest.raises(ValidationError) as caught:
        read(xlsx_bytes(dibao_household_list(ID1)), max_bytes=1000)
    assert caught.value.code == "too_large"
    assert "文件过大" in caught.value.messages[0]


def test_a_zip_bomb_is_refused() -> None:
    source = xlsx_bytes(plain_list("身份证号", ID1))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        dst.writestr("xl/media/padding.xml", b"<a>" + b" " * (9 * 1024 * 1024) + b"</a>")
    with pytest.raises(ValidationError) as caught:
        read(out.getvalue())
    assert caught.value.code == "zip_bomb"
