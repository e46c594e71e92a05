"""Uploaded Excel files: what is read, and what is refused before any parser opens it, in bounded
memory. Every hostile file is built here, in the test, from a real openpyxl workbook."""

from __future__ import annotations

import datetime as dt
import io
import struct
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import defusedxml
import openpyxl
import pytest
import xlwt
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

from zaoyang_aid import spreadsheets
from zaoyang_aid.spreadsheet_xls import _Cfb
from zaoyang_aid.spreadsheets import (
    OLE2_MAGIC,
    SheetLimits,
    assert_openpyxl_defused,
    clean_code,
    clean_text,
    open_bytes,
    open_sheet,
    parse_date,
    parse_flag,
)

SMALL = SheetLimits(max_bytes=2 * 1024 * 1024, max_uncompressed=8 * 1024 * 1024, max_entries=50)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xls_bytes(rows: list[list[Any]]) -> bytes:
    """A real Excel 97-2003 file (BIFF8 in an OLE2 compound file), written by xlwt."""
    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("学生名单")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                sheet.write(r, c, value, date_style)
            else:
                sheet.write(r, c, value)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rezip(data: bytes, replace: dict[str, bytes], extra: dict[str, bytes] | None = None) -> bytes:
    """The same xlsx with some parts replaced or added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
        for name, content in (extra or {}).items():
            dst.writestr(name, content)
    return out.getvalue()


def refused(data: bytes, code: str, limits: SheetLimits = SMALL) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        open_bytes(data, limits=limits)
    assert caught.value.code == code, caught.value
    return caught.value


# --- Read ---------------------------------------------------------------------------------------------


def test_an_xlsx_is_read_values_only_with_excel_row_numbers() -> None:
    data = xlsx_bytes([["名单"], [], ["姓名", "出生日期"], ["张三", dt.date(2012, 3, 4)], ["李四", "=1+1"]])
    sheet = open_bytes(data)
    assert sheet.kind == "xlsx"
    assert sheet.rows[0] == ["名单"]
    assert sheet.rows[1] == []
    assert sheet.rows[3][0] == "张三"
    assert parse_date(sheet.rows[3][1]) == dt.date(2012, 3, 4)
    # Values only: openpyxl wrote the formula without a cached value, and nothing computes it.
    assert sheet.rows[4] == ["李四"]


def test_an_xls_from_excel_97_2003_is_read(tmp_path: Path) -> None:
    path = tmp_path / "名单.xls"
    path.write_bytes(xls_bytes([["姓名", "出生日期", "学籍号"], ["张三", dt.date(2012, 3, 4), "G420683201203040011"]]))
    sheet = open_sheet(path)
    assert sheet.kind == "xls"
    assert sheet.name == "学生名单"
    assert sheet.rows[1][0] == "张三"
    assert parse_date(sheet.rows[1][1]) == dt.date(2012, 3, 4)


def test_a_hidden_first_sheet_of_dropdown_lists_is_passed_over() -> None:
    workbook = openpyxl.Workbook()
    lists = workbook.active
    assert lists is not None
    lists.title = "字典"
    lists.append(["男", "女"])
    lists.sheet_state = "hidden"
    roster = workbook.create_sheet("学生名单")
    roster.append(["姓名"])
    out = io.BytesIO()
    workbook.save(out)
    sheet = open_bytes(out.getvalue())
    assert (sheet.name, sheet.rows) == ("学生名单", [["姓名"]])


def test_the_kind_is_told_by_content_not_by_name() -> None:
    sheet = open_bytes(xls_bytes([["姓名"]]), name="名单.xlsx")  # an .xls renamed .xlsx is still read
    assert sheet.kind == "xls"


def test_an_upload_in_memory_or_spooled_to_a_temporary_file_is_read() -> None:
    data = xlsx_bytes([["姓名"], ["张三"]])
    assert open_sheet(SimpleUploadedFile("a.xlsx", data)).rows == [["姓名"], ["张三"]]
    spooled = TemporaryUploadedFile("a.xlsx", "application/octet-stream", len(data), None)
    spooled.write(data)
    spooled.flush()
    assert open_sheet(spooled).rows == [["姓名"], ["张三"]]
    spooled.close()


# --- Refused --------------------------------------------------------------------------------------------


def test_a_text_file_renamed_xlsx_is_refused() -> None:
    error = refused("姓名,身份证号\n张三,4206…\n".encode(), "not_excel")
    assert "不是Excel表格" in error.messages[0]


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    refused(out.getvalue(), "not_excel")


def test_an_empty_or_oversize_file_is_refused_before_it_is_read() -> None:
    refused(b"", "empty")
    error = refused(xlsx_bytes([["姓名"]]), "too_large", SheetLimits(max_bytes=1000))
    assert "上限为" in error.messages[0]


def test_a_zip_bomb_is_refused_from_its_directory() -> None:
    """8 MiB of spaces in a sheet: the directory's declared size and ratio give it away, nothing inflated."""
    data = rezip(xlsx_bytes([["姓名"]]), {}, {"xl/media/padding.xml": b"<a>" + b" " * (9 * 1024 * 1024) + b"</a>"})
    assert len(data) < 200_000
    tracemalloc.start()
    try:
        refused(data, "zip_bomb")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024


def test_a_high_ratio_part_is_refused_even_under_the_total_size() -> None:
    data = rezip(xlsx_bytes([["姓名"]]), {}, {"xl/media/padding.xml": b"<a>" + b" " * (3 * 1024 * 1024) + b"</a>"})
    refused(data, "zip_bomb")


def _lie_about_size(data: bytes, name: str, declared: int) -> bytes:
    """Patch the central directory (and the local header) to declare ``declared`` bytes for ``name``."""
    buffer = bytearray(data)
    encoded = name.encode()
    central = buffer.find(b"PK\x01\x02" + b"\x00" * 0, 0)
    while central != -1:
        name_len = struct.unpack_from("<H", buffer, central + 28)[0]
        if bytes(buffer[central + 46 : central + 46 + name_len]) == encoded:
            struct.pack_into("<L", buffer, central + 24, declared)
            local = struct.unpack_from("<L", buffer, central + 42)[0]
            struct.pack_into("<L", buffer, local + 22, declared)
        central = buffer.find(b"PK\x01\x02", central + 4)
    return bytes(buffer)


def test_a_part_that_inflates_past_its_declared_size_is_refused_in_bounded_memory() -> None:
    """The directory says 2 KB; the data inflates to 6 MiB. We stop at the 2 KB, whatever calamine's
    zip reader would have done."""
    big = b"<a>" + b"<b/>" * (1536 * 1024) + b"</a>"
    data = _lie_about_size(rezip(xlsx_bytes([["姓名"]]), {}, {"xl/media/lying.xml": big}), "xl/media/lying.xml", 2048)
    tracemalloc.start()
    try:
        refused(data, "zip_bomb", SheetLimits())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024


def test_too_many_entries_are_refused() -> None:
    data = rezip(xlsx_bytes([["姓名"]]), {}, {f"xl/media/{n}.xml": b"<a/>" for n in range(60)})
    refused(data, "too_many_entries")


BILLION_LAUGHS = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">
<si><t>&lol9;</t></si></sst>"""


def _billion_laughs_xlsx() -> bytes:
    data = xlsx_bytes([["姓名"], ["张三"]])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        shared = "xl/sharedStrings.xml" if "xl/sharedStrings.xml" in archive.namelist() else None
    if shared:
        return rezip(data, {shared: BILLION_LAUGHS})
    return rezip(data, {}, {"xl/sharedStrings.xml": BILLION_LAUGHS})


def test_a_billion_laughs_xlsx_is_refused() -> None:
    error = refused(_billion_laughs_xlsx(), "xml_entities", SheetLimits())
    assert "实体" in error.messages[0]


def test_defusedxml_is_active_for_openpyxl() -> None:
    assert_openpyxl_defused()
    with pytest.raises(ValueError, match="invalid XML") as caught:
        openpyxl.load_workbook(io.BytesIO(rezip(xlsx_bytes([["姓名"]]), {"xl/workbook.xml": BILLION_LAUGHS})))
    assert isinstance(caught.value.__cause__ or caught.value.__context__, defusedxml.DefusedXmlException)


def test_a_doctype_in_a_worksheet_is_refused_too() -> None:
    data = xlsx_bytes([["姓名"]])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    assert not sheet.startswith(b"<?xml")  # openpyxl writes no declaration: the DOCTYPE goes first
    hostile = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + sheet
    refused(rezip(data, {"xl/worksheets/sheet1.xml": hostile}), "xml_entities", SheetLimits())


def test_a_sheet_whose_cells_span_a_huge_rectangle_is_refused_before_calamine_allocates_it() -> None:
    """Two cells, A1 and XFD1048576, in a 2 KB file: calamine would allocate 17 billion cells (the
    process aborts; measured). The worksheet's references are counted first."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet["A1"] = "姓名"
    sheet["XFD1048576"] = 1
    out = io.BytesIO()
    workbook.save(out)
    error = refused(out.getvalue(), "too_many_rows", SheetLimits())
    assert "分批上传" in error.messages[0]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet["A1"], sheet["XFD1"] = "姓名", 1
    out = io.BytesIO()
    workbook.save(out)
    refused(out.getvalue(), "too_many_columns", SheetLimits())


# --- .xls records calamine would trust with an allocation that aborts the process ------------------------


@pytest.fixture
def calamine_must_not_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """If a check let one of these through, calamine would abort the test process: fail instead."""

    def boom(*args: object) -> None:
        raise AssertionError("calamine was handed a file that should have been refused")

    monkeypatch.setattr(spreadsheets, "_read_first_sheet", boom)


def _record(data: bytes, kind: int) -> int:
    """The offset of the first BIFF record of ``kind`` in an xlwt file (its Workbook stream is contiguous)."""
    offset = data.find(struct.pack("<H", kind) + b"\x0e\x00" if kind == 0x0200 else struct.pack("<H", kind))
    assert offset > 0
    return offset


@pytest.mark.usefixtures("calamine_must_not_open")
def test_an_xls_whose_dimensions_claim_millions_of_rows_is_refused() -> None:
    """Measured: calamine reserves 21 GB for this 5.6 KB file and the process aborts."""
    data = bytearray(xls_bytes([["姓名"], ["张三"]]))
    struct.pack_into("<L", data, _record(data, 0x0200) + 8, 0x0FFFFFFF)
    refused(bytes(data), "unreadable", SheetLimits())  # more rows than an .xls can hold
    struct.pack_into("<LLHH", data, _record(data, 0x0200) + 4, 0, 65536, 0, 256)
    refused(bytes(data), "too_many_cells", SheetLimits())  # possible, but 16.7 million cells reserved


def test_an_xls_formatted_far_down_without_values_is_read() -> None:
    """Styled empty cells (BLANK records) down to row 65536, as a formatted template has them."""
    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("S")
    sheet.write(0, 0, "姓名")
    sheet.write(1, 0, "张三")
    bordered = xlwt.easyxf("border: left thin")
    for row in (100, 65535):
        sheet.write(row, 5, None, bordered)  # a BLANK record: formatting, no value
    out = io.BytesIO()
    workbook.save(out)
    assert open_bytes(out.getvalue(), limits=SheetLimits()).rows == [["姓名"], ["张三"]]


@pytest.mark.usefixtures("calamine_must_not_open")
def test_an_xls_with_cells_far_apart_is_refused() -> None:
    """Measured: A1 and IV65536 made calamine fill 16.7 million cells, 1.06 GB resident."""
    refused(xls_bytes([["姓名"]] + [[]] * 65534 + [[None] * 255 + [1]]), "too_many_cells", SheetLimits())
    refused(xls_bytes([["姓名"]] + [[]] * 65534 + [[1]]), "too_many_rows", SheetLimits())
    refused(xls_bytes([["姓名", *([None] * 249), 1]]), "too_many_columns", SheetLimits())


@pytest.mark.usefixtures("calamine_must_not_open")
def test_an_xls_whose_string_table_claims_billions_of_strings_is_refused() -> None:
    data = bytearray(xls_bytes([["姓名"], ["张三"]]))
    struct.pack_into("<l", data, _record(data, 0x00FC) + 8, 2_000_000_000)
    refused(bytes(data), "unreadable", SheetLimits())


def _with_macro_storage(data: bytes) -> bytes:
    """xlwt's file with a _VBA_PROJECT_CUR storage (holding an empty PROJECT stream) added to the two
    unused slots of its directory, linked as the Workbook stream's sibling: what the national
    system's macro-carrying .xls have beside their Workbook stream. Not a compiled VBA project (none
    can be made offline); calamine 0.9.1's .xls reader skips that storage whatever it holds."""
    buffer = bytearray(data)
    directory = (struct.unpack_from("<L", buffer, 48)[0] + 1) * 512
    slots = [bytes(buffer[directory + n * 128 : directory + n * 128 + 64]) for n in range(4)]
    names = [slot.decode("utf-16-le").split("\x00")[0] for slot in slots]
    assert names == ["Root Entry", "Workbook", "", ""]

    def entry(slot: int, name: str, kind: int, child: int) -> None:
        at = directory + slot * 128
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        buffer[at : at + 64] = encoded.ljust(64, b"\x00")
        struct.pack_into("<HBBlll", buffer, at + 64, len(encoded), kind, 1, -1, -1, child)
        struct.pack_into("<LL", buffer, at + 116, 0xFFFFFFFE, 0)

    entry(2, "_VBA_PROJECT_CUR", 1, 3)
    entry(3, "PROJECT", 2, -1)
    struct.pack_into("<l", buffer, directory + 128 + 72, 2)  # Workbook's right sibling: the storage
    return bytes(buffer)


def test_an_xls_carrying_a_macro_storage_is_read_values_only() -> None:
    data = _with_macro_storage(xls_bytes([["姓名", "出生日期"], ["张三", 20120304]]))
    assert b"_\x00V\x00B\x00A\x00_\x00P\x00R\x00O\x00J\x00E\x00C\x00T\x00_\x00C\x00U\x00R" in data
    assert _Cfb(data).stream(("PROJECT",)) == b""  # the directory holds it, consistently linked
    sheet = open_bytes(data)
    assert sheet.kind == "xls"
    assert sheet.rows == [["姓名", "出生日期"], ["张三", 20120304.0]]


def _far_cells_sheet() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet["A1"], sheet["XFD1048576"] = "姓名", 1
    out = io.BytesIO()
    workbook.save(out)
    with zipfile.ZipFile(out) as archive:
        return archive.read("xl/worksheets/sheet1.xml")


@pytest.mark.usefixtures("calamine_must_not_open")
def test_a_sheet_hidden_under_another_part_name_is_checked_all_the_same() -> None:
    """workbook.xml.rels may point the sheet at any part, here one named like a picture."""
    data = xlsx_bytes([["姓名"]])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        rels = archive.read("xl/_rels/workbook.xml.rels")
    assert b'Target="worksheets/sheet1.xml"' in rels or b'Target="/xl/worksheets/sheet1.xml"' in rels
    for target, part in [
        (b"media/image1.png", "xl/media/image1.png"),
        (b"/evil.bin", "evil.bin"),
        (b"../evil.bin", "evil.bin"),
        (b"xl/evil.bin", "xl/xl/evil.bin"),  # whether a reader prefixes xl/ or not, both are checked
    ]:
        pointed = rels.replace(b"/xl/worksheets/sheet1.xml", target).replace(b"worksheets/sheet1.xml", target)
        hostile = rezip(data, {"xl/_rels/workbook.xml.rels": pointed}, {part: _far_cells_sheet()})
        refused(hostile, "too_many_rows", SheetLimits())


def test_a_macro_enabled_xlsm_is_read_values_only() -> None:
    """The VBA project (xl/vbaProject.bin) is a binary part nobody parses: values are read beside it."""
    data = rezip(xlsx_bytes([["姓名"], ["张三"]]), {}, {"xl/vbaProject.bin": OLE2_MAGIC + bytes(504)})
    assert open_bytes(data, name="名单.xlsm").rows == [["姓名"], ["张三"]]


def test_an_xls_whose_sheet_offset_points_outside_it_is_refused_with_a_message() -> None:
    """calamine slices the stream at the BOUNDSHEET offset: past the end it panics (pyo3's
    PanicException, a BaseException), which becomes the unreadable message, not a 500."""
    data = bytearray(xls_bytes([["姓名"], ["张三"]]))
    struct.pack_into("<L", data, _record(data, 0x0085) + 4, 0x00FFFFFF)
    refused(bytes(data), "unreadable", SheetLimits())


def test_empty_formatted_rows_and_cells_far_down_do_not_refuse_a_sheet() -> None:
    """WPS and Excel write styled empty rows and cells down a formatted sheet; calamine skips them
    (measured: a cell at XFD1048576 without a value leaves the sheet 1 x 1), so they count for nothing."""
    data = xlsx_bytes([["姓名"], ["张三"]])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    styled = b'<row r="65536" customFormat="1"><c r="XFD65536" s="0"/></row><row r="1048576" customFormat="1"/>'
    padded = sheet.replace(b"</sheetData>", styled + b"</sheetData>")
    assert padded != sheet
    assert open_bytes(rezip(data, {"xl/worksheets/sheet1.xml": padded}), limits=SheetLimits()).rows == [
        ["姓名"],
        ["张三"],
    ]


def test_a_password_protected_xlsx_is_refused_with_its_reason() -> None:
    """Excel saves a password-protected .xlsx as an OLE2 file with an EncryptedPackage stream."""
    data = bytearray(xls_bytes([["姓名"]]))
    directory = (struct.unpack_from("<L", data, 48)[0] + 1) * 512 + 128  # the Workbook entry
    name = "EncryptedPackage".encode("utf-16-le") + b"\x00\x00"
    data[directory : directory + 64] = name.ljust(64, b"\x00")
    struct.pack_into("<H", data, directory + 64, len(name))
    error = refused(bytes(data), "encrypted", SheetLimits())
    assert "密码" in error.messages[0]


def test_a_damaged_xlsx_is_refused_with_a_message() -> None:
    data = xlsx_bytes([["姓名"]])
    refused(data[: len(data) // 2], "bad_zip")


def test_a_damaged_xls_is_refused_with_a_message() -> None:
    data = xls_bytes([["姓名"]])
    refused(data[:600], "unreadable")


# --- Values ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (20261014, dt.date(2026, 10, 14)),
        (20261014.0, dt.date(2026, 10, 14)),
        ("20261014", dt.date(2026, 10, 14)),
        ("２０２６１０１４", dt.date(2026, 10, 14)),
        (46309, dt.date(2026, 10, 14)),  # the Excel serial of 2026-10-14
        (46309.0, dt.date(2026, 10, 14)),
        ("2026-10-14", dt.date(2026, 10, 14)),
        ("2026/10/14", dt.date(2026, 10, 14)),
        ("2026.10.14", dt.date(2026, 10, 14)),
        ("2026年10月14日", dt.date(2026, 10, 14)),
        (dt.datetime(2026, 10, 14, 0, 0), dt.date(2026, 10, 14)),
        ("", None),
        (None, None),
    ],
)
def test_dates_as_rosters_write_them(value: Any, expected: dt.date | None) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["20261314", "2026-02-30", "明天", "14/10/2026", 0, -5, True, 99999999])
def test_what_is_not_a_date_is_a_value_error(value: Any) -> None:
    with pytest.raises(ValueError, match=r".*"):
        parse_date(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("是", True), ("否", False), (" 是 ", True), ("", None), (None, None), ("   ", None), (True, True), ("Y", True)],
)
def test_flags_blank_is_unknown_never_no(value: Any, expected: bool | None) -> None:
    assert parse_flag(value) is expected


def test_a_flag_that_is_neither_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r".*"):
        parse_flag("可能")


def test_text_is_made_half_width_and_numbers_lose_their_float() -> None:
    assert clean_text("　张　 三 ") == "张 三"
    assert clean_text(5.0) == "5"
    assert clean_code("４２０６８３ ２０１２０３０４ ００１ｘ") == "420683201203040012"[:17] + "X"


@pytest.mark.parametrize("build", [xls_bytes, xlsx_bytes], ids=["xls", "xlsx"])
def test_damaged_files_are_read_or_refused_with_a_message_never_an_exception(build: Any) -> None:
    """300 seeded random corruptions of a small roster (12,000 were run once by hand, none escaped):
    each is read or refused with a ValidationError; nothing else escapes (a 500) or aborts."""
    import random

    base = build([["名单"], ["姓名", "出生日期"], ["张三", dt.date(2012, 3, 4)], ["李四", 20120304]])
    rng = random.Random(10)
    for _ in range(300):
        data = bytearray(base)
        for _ in range(rng.choice([1, 2, 4, 8, 16])):
            at = rng.randrange(len(data))
            data[at] = rng.choice([0, 0xFF, rng.randrange(256), data[at] ^ (1 << rng.randrange(8))])
        try:
            open_bytes(bytes(data), limits=SheetLimits())
        except ValidationError as error:
            assert error.messages[0]
