"""Reading an uploaded Excel file safely: rosters (casefiles.imports) and, later, the departments'
lists for 部门名单比对 stand on this.

An upload is checked in this order, each step in bounded memory, before python-calamine (which holds
a whole sheet in memory, PERFORMANCE.md) ever sees it:

1. its size (``max_bytes``), from the upload's or the file's metadata, before a byte is read;
2. its kind by content, not by name: an OLE2 compound file (Excel 97-2003 .xls, macros or not) or a
   zip holding ``xl/workbook.xml`` (.xlsx, .xlsm);
3. for a zip, its central directory before anything is inflated: entry count, declared total size,
   ratio, encryption and compression method;
4. for a zip, every XML part inflated in 64 KiB chunks by us (never trusting the declared sizes: a
   part that inflates beyond them is refused) and parsed by expat with DTDs forbidden, so entity
   tricks (billion laughs, external entities) are refused whatever parser reads the file later;
   the worksheets' cells with values are counted on the way, because calamine allocates the sheet's
   whole rectangle: two cells at A1 and XFD1048576 in a 1.5 KB file ask it for 17 billion cells
   (measured: the process aborts). The worksheets are found as calamine finds them (workbook.xml
   through its rels), whatever their part names;
5. for an OLE2 file (.xls), the Workbook stream's records, by spreadsheet_xls.inspect_xls (calamine
   trusts an .xls's DIMENSIONS and SST counts with allocations that abort the process);
6. then calamine reads the first visible worksheet, values only (it never runs macros, and reads a
   formula's cached value; its .xls reader does not even parse the VBA storage). A Rust panic on a
   malformed file (pyo3's PanicException, a BaseException) becomes the same refusal message.

Limits the uploads share live in ``SheetLimits``; the defaults fit a county roster (15,000 rows).
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import struct
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

import openpyxl.xml
import python_calamine
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files.uploadedfile import UploadedFile

from .spreadsheet_xls import inspect_xls

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # the zip local file header before its name and extra field
_CHUNK = 64 * 1024
_CELL_REF_RE = re.compile(r"^([A-Z]{1,3})?([0-9]{1,7})$")


def assert_openpyxl_defused() -> None:
    """openpyxl parses XML through defusedxml when it is installed (openpyxl.xml.DEFUSEDXML); the
    reports and any openpyxl reading rely on it. Called when this module is imported and by a test."""
    if not openpyxl.xml.DEFUSEDXML:
        raise ImproperlyConfigured("defusedxml未生效:openpyxl 读取XML时可能展开实体,请安装 defusedxml。")


assert_openpyxl_defused()


@dataclass(frozen=True)
class SheetLimits:
    """What an upload may be. ``max_ratio`` applies to the whole zip and to each part over 1 MiB
    inflated (openpyxl's 15,000-row roster: 13x). Measured worst case within these defaults (a 16 MB
    file, 91 MB of sheet XML, 31,000 x 100 numbers): 5.8 s and 247 MB above the process baseline, most
    of it calamine's sheet; a real 15,000-row roster: 0.7 s and about 50 MB."""

    max_bytes: int = 20 * 1024 * 1024
    max_uncompressed: int = 100 * 1024 * 1024
    max_entries: int = 200
    max_ratio: int = 100
    max_rows: int = 30_000
    max_columns: int = 100


@dataclass
class Sheet:
    """The first visible worksheet of a workbook, values only: str, float, int, bool, date, datetime, time, or "".
    ``rows[i]`` is Excel's row i + 1 and ``rows[i][j]`` its column j + 1 (A = 0); trailing blanks trimmed."""

    name: str
    kind: str  # "xls" or "xlsx"
    rows: list[list[Any]] = field(default_factory=list)


def refuse(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def open_sheet(source: UploadedFile | Path | str, *, limits: SheetLimits | None = None) -> Sheet:
    """The first visible worksheet's rows, or ValidationError with a Chinese message saying why the file is refused."""
    limits = limits or SheetLimits()
    size = _size_of(source)
    if size > limits.max_bytes:
        raise refuse(
            f"文件过大({size / 1048576:.1f} MB),上限为{limits.max_bytes / 1048576:.0f} MB。"
            "请删去无关的工作表后再上传。",
            "too_large",
        )
    if size == 0:
        raise refuse("文件是空的,请重新选择文件。", "empty")
    with _opened(source) as handle:
        kind = _kind_of(handle)
        if kind == "xlsx":
            inspect_xlsx(handle, limits)
        else:
            inspect_xls(handle, max_rows=limits.max_rows, max_columns=limits.max_columns)
        handle.seek(0)
        return _read_first_sheet(handle, kind, limits)


def _size_of(source: UploadedFile | Path | str) -> int:
    if isinstance(source, UploadedFile):
        return int(source.size or 0)
    return Path(source).stat().st_size


class _opened:
    """A binary handle on the source, rewound; a path is opened and closed, an upload is left open."""

    def __init__(self, source: UploadedFile | Path | str) -> None:
        self.source = source
        self.handle: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        if isinstance(self.source, UploadedFile):
            self.source.seek(0)
            return self.source.file  # type: ignore[return-value]
        self.handle = Path(self.source).open("rb")
        return self.handle

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()


def _kind_of(handle: IO[bytes]) -> str:
    handle.seek(0)
    head = handle.read(8)
    if head == OLE2_MAGIC:
        return "xls"
    if head[:4] == ZIP_MAGIC:
        return "xlsx"
    raise refuse("文件不是Excel表格(.xls或.xlsx)。如是WPS或CSV文件,请在Excel或WPS中另存为.xlsx后再上传。", "not_excel")


# --- The zip (xlsx) -------------------------------------------------------------------------------


def inspect_xlsx(handle: IO[bytes], limits: SheetLimits) -> None:
    """Steps 3 and 4 of the module docstring; returns quietly when calamine may open the file."""
    import zipfile

    handle.seek(0)
    try:
        _inspect_zip(handle, zipfile.ZipFile(handle), limits)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, struct.error) as exc:
        # NotImplementedError: zipfile's "zip file version 25.5" for a header it cannot read (found by fuzzing)
        raise refuse("文件已损坏,无法作为Excel表格打开。请在Excel中重新保存后再上传。", "bad_zip") from exc


def _inspect_zip(handle: IO[bytes], archive: Any, limits: SheetLimits) -> None:
    with archive:
        entries = archive.infolist()
        _check_directory(entries, limits)
        by_name = {info.filename: info for info in entries}
        sheets = _sheet_parts(handle, by_name, limits)
        for info in entries:
            if info.filename in sheets or info.filename.endswith((".xml", ".rels", ".vml")):
                _scan(handle, info, limits, is_worksheet=info.filename in sheets)


def _scan(handle: IO[bytes], info: Any, limits: SheetLimits, *, is_worksheet: bool, wanted: str = "") -> _XmlScanner:
    scanner = _XmlScanner(is_worksheet=is_worksheet, limits=limits, wanted=wanted)
    for chunk in _inflate(handle, info, limits):
        scanner.feed(chunk)
    scanner.close()
    return scanner


def _sheet_parts(handle: IO[bytes], by_name: dict[str, Any], limits: SheetLimits) -> set[str]:
    """The parts calamine reads as sheets, found as it finds them (workbook.xml's <sheet r:id>
    through workbook.xml.rels), whatever their names: a hostile file may point a sheet at any part."""
    if "xl/workbook.xml" not in by_name or "xl/_rels/workbook.xml.rels" not in by_name:
        return {name for name in by_name if name.startswith("xl/worksheets/")}
    workbook = _scan(handle, by_name["xl/workbook.xml"], limits, is_worksheet=False, wanted="sheet")
    ids = {value for attrs in workbook.found for key, value in attrs.items() if key == "id" or key.endswith(":id")}
    rels = _scan(handle, by_name["xl/_rels/workbook.xml.rels"], limits, is_worksheet=False, wanted="Relationship")
    targets = {attrs.get("Id"): attrs.get("Target", "") for attrs in rels.found}
    parts = {name for i in ids if i in targets for name in _part_names(targets[i])}
    return (parts & by_name.keys()) | {name for name in by_name if name.startswith("xl/worksheets/")}


def _part_names(target: str) -> set[str]:
    """Every zip entry a relationship target of xl/workbook.xml could name ("worksheets/sheet1.xml",
    "/xl/worksheets/sheet1.xml", "xl/…", "../…"): all are checked as sheets, so that no reading of
    the target by calamine finds a part we did not check."""
    bare = target.lstrip("/")
    names = {bare, f"xl/{bare}", posixpath.normpath(f"xl/{bare}"), posixpath.normpath(bare)}
    return {name.lstrip("/") for name in names}


def _check_directory(entries: list[Any], limits: SheetLimits) -> None:
    names = {info.filename for info in entries}
    if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names:
        raise refuse("文件不是Excel表格(.xls或.xlsx):压缩包中没有工作簿。", "not_excel")
    if "xl/workbook.bin" in names:
        raise refuse("暂不支持Excel二进制工作簿(.xlsb),请另存为.xlsx后再上传。", "xlsb")
    if len(entries) > limits.max_entries:
        raise refuse(f"文件内部条目过多({len(entries)}个),疑似异常文件,已拒绝。", "too_many_entries")
    total = sum(info.file_size for info in entries)
    packed = sum(info.compress_size for info in entries)
    if total > limits.max_uncompressed:
        raise refuse(
            f"文件解压后过大({total / 1048576:.0f} MB),上限为{limits.max_uncompressed / 1048576:.0f} MB,"
            "疑似压缩炸弹,已拒绝。",
            "zip_bomb",
        )
    if total > 1024 * 1024 and total > limits.max_ratio * max(packed, 1):
        raise refuse("文件压缩比异常,疑似压缩炸弹,已拒绝。", "zip_bomb")
    for info in entries:
        if info.flag_bits & 0x1:
            raise refuse("文件设有密码,请在Excel中取消密码后再上传。", "encrypted")
        if info.compress_type not in (0, 8):  # stored, deflated: what Excel, WPS and openpyxl write
            raise refuse("文件使用了不支持的压缩方式,请在Excel中另存为.xlsx后再上传。", "zip_method")
        if info.file_size > 1024 * 1024 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise refuse("文件压缩比异常,疑似压缩炸弹,已拒绝。", "zip_bomb")


def _inflate(handle: IO[bytes], info: Any, limits: SheetLimits) -> Iterator[bytes]:
    """A part's bytes, inflated by us in chunks from its raw data, refused as soon as they pass the
    size the directory declared (the other reader, calamine's zip crate, need not stop there)."""
    handle.seek(info.header_offset)
    header = handle.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != ZIP_MAGIC:
        raise refuse("文件已损坏,无法作为Excel表格打开。", "bad_zip")
    name_len, extra_len = _LOCAL_HEADER.unpack(header)[-2:]
    handle.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
    left_in, produced = info.compress_size, 0
    inflater = zlib.decompressobj(-15) if info.compress_type == 8 else None
    while left_in > 0:
        raw = handle.read(min(_CHUNK, left_in))
        if not raw:
            raise refuse("文件已损坏(数据不完整)。", "bad_zip")
        left_in -= len(raw)
        pending = raw
        while pending:
            try:
                out = inflater.decompress(pending, _CHUNK) if inflater else pending
            except zlib.error as exc:
                raise refuse("文件已损坏,无法解压。", "bad_zip") from exc
            pending = inflater.unconsumed_tail if inflater else b""
            produced += len(out)
            if produced > info.file_size:
                raise refuse("文件解压后的大小与声明不符,疑似压缩炸弹,已拒绝。", "zip_bomb")
            if out:
                yield out
            if inflater and inflater.eof:
                break
    if produced != info.file_size:
        raise refuse("文件已损坏(解压后大小不符)。", "bad_zip")


class _XmlScanner:
    """expat over one part: refuses any DTD (so any entity declaration) and, in a worksheet, cell
    references beyond the row and column limits, before calamine allocates the sheet's rectangle."""

    def __init__(self, *, is_worksheet: bool, limits: SheetLimits, wanted: str = "") -> None:
        self.limits = limits
        self.is_worksheet = is_worksheet
        self.wanted = wanted  # a local element name whose attributes to keep in ``found``
        self.found: list[dict[str, str]] = []
        self.parser = expat.ParserCreate()
        # As defusedxml does (forbid_dtd, forbid_entities, forbid_external): one handler for all four.
        self.parser.StartDoctypeDeclHandler = self._refuse_dtd
        self.parser.EntityDeclHandler = self._refuse_dtd
        self.parser.UnparsedEntityDeclHandler = self._refuse_dtd
        self.parser.ExternalEntityRefHandler = self._refuse_dtd  # type: ignore[assignment]
        self.parser.StartElementHandler = self._first_element
        self.row = 0
        self.column = 0
        self.cell = (0, 0)

    def _refuse_dtd(self, *args: object) -> None:
        raise refuse("文件含有XML实体声明(DTD),可能是恶意文件,已拒绝。", "xml_entities")

    def _first_element(self, name: str, attrs: dict[str, str]) -> None:
        """The root element tells a sheet too (a part named otherwise is checked all the same); any
        other part drops the handler, so that expat runs through it without calling back."""
        if name.rsplit(":", 1)[-1] in {"worksheet", "dialogsheet", "macrosheet"}:
            self.is_worksheet = True
        if self.is_worksheet or self.wanted:
            self.parser.StartElementHandler = self._element
        else:
            self.parser.StartElementHandler = None

    def _element(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rsplit(":", 1)[-1]
        if local == self.wanted:
            self.found.append(attrs)
        if not self.is_worksheet:
            return
        # Only a cell with a value counts: calamine skips empty rows and styled empty cells, which
        # WPS and Excel write far down a formatted sheet (a roster "formatted to row 65536" is fine).
        if local == "row":
            self.row = _row_number(attrs.get("r"), self.row + 1)
            self.column = 0
        elif local == "c":
            self.cell = _cell_ref(attrs.get("r"), self.row, self.column + 1)
            self.column = self.cell[1]
        elif local in {"v", "is"}:
            self._check(*self.cell)

    def _check(self, row: int, column: int) -> None:
        if row > self.limits.max_rows + 1000:  # some headroom for title and note rows
            raise refuse(f"表格行数过多(超过{self.limits.max_rows}行),请分批上传。", "too_many_rows")
        if column > self.limits.max_columns:
            raise refuse(f"表格列数过多(超过{self.limits.max_columns}列),请只保留需要的列。", "too_many_columns")

    def feed(self, data: bytes) -> None:
        try:
            self.parser.Parse(data, False)
        except expat.ExpatError as exc:
            raise refuse("文件内部XML格式错误,无法读取。请在Excel中重新保存后再上传。", "bad_xml") from exc

    def close(self) -> None:
        self.feed(b"")
        try:
            self.parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise refuse("文件内部XML格式错误,无法读取。请在Excel中重新保存后再上传。", "bad_xml") from exc


def _row_number(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default


def _cell_ref(value: str | None, row: int, column: int) -> tuple[int, int]:
    match = _CELL_REF_RE.match(value or "")
    if not match:
        return row, column
    letters, digits = match.groups()
    if letters:
        column = 0
        for letter in letters:
            column = column * 26 + ord(letter) - 64
    return int(digits), column


# --- calamine ---------------------------------------------------------------------------------------


def _read_first_sheet(handle: IO[bytes], kind: str, limits: SheetLimits) -> Sheet:
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(handle)
    except python_calamine.PasswordError as exc:
        raise refuse("文件设有密码,请在Excel中取消密码后再上传。", "encrypted") from exc
    except BaseException as exc:
        # calamine's errors (CalamineError, XmlError, ZipError, …) say little to a teacher, and a Rust
        # panic on a malformed file comes as pyo3's PanicException, a BaseException.
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise refuse("文件已损坏或不是有效的Excel表格,无法读取。请在Excel中重新保存后再上传。", "unreadable") from exc
    try:
        sheet = workbook.get_sheet_by_index(_first_visible_sheet(workbook))
        if sheet.height > limits.max_rows + 1000:
            raise refuse(f"表格行数过多(超过{limits.max_rows}行),请分批上传。", "too_many_rows")
        # From A1 (not from the first non-empty cell), so that list index + 1 is Excel's row number.
        rows = [_trim(row) for row in sheet.to_python(skip_empty_area=False, nrows=limits.max_rows + 1000)]
    except ValidationError:
        raise
    except BaseException as exc:  # as above: a panic too
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise refuse("文件已损坏或不是有效的Excel表格,无法读取。请在Excel中重新保存后再上传。", "unreadable") from exc
    finally:
        workbook.close()
    while rows and not any(_present(v) for v in rows[-1]):
        rows.pop()
    return Sheet(name=sheet.name, kind=kind, rows=rows)


def _first_visible_sheet(workbook: python_calamine.CalamineWorkbook) -> int:
    """The first visible worksheet: templates keep their dropdown lists on hidden sheets, sometimes first."""
    for index, meta in enumerate(workbook.sheets_metadata):
        if (
            meta.visible == python_calamine.SheetVisibleEnum.Visible
            and meta.typ == python_calamine.SheetTypeEnum.WorkSheet
        ):
            return index
    return 0


def _trim(row: list[Any]) -> list[Any]:
    while row and not _present(row[-1]):
        row.pop()
    return row


def _present(value: Any) -> bool:
    return not (value is None or (isinstance(value, str) and not value.strip()))


# --- Cell values as rosters write them ---------------------------------------------------------------

_SPACES_RE = re.compile(r"\s+")
_DATE_SEPARATORS_RE = re.compile(r"^(\d{4})[-./年](\d{1,2})[-./月](\d{1,2})日?$")
EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01, counting Excel's phantom 1900-02-29


def clean_text(value: Any) -> str:
    """A cell as text: full-width digits, letters and spaces made half-width (NFKC), runs of spaces
    squeezed, and a whole number that came back as a float (5.0, PERFORMANCE.md) written as 5."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    return _SPACES_RE.sub(" ", unicodedata.normalize("NFKC", str(value))).strip()


def clean_code(value: Any) -> str:
    """An ID number, 学籍号 or phone: clean_text with every space and dash gone, upper case."""
    return re.sub(r"[\s\-]", "", clean_text(value)).upper()


def parse_date(value: Any) -> dt.date | None:
    """A date as rosters write it: a real date cell, 20261014 (number or text), 2026-10-14,
    2026/10/14, 2026.10.14, 2026年10月14日, or an Excel serial (46309). None for a blank cell;
    ValueError for anything else (the caller words the row's error)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        if float(value).is_integer() and 19000101 <= value <= 21001231:
            return _eight_digits(str(int(value)))
        if 1 <= value < 80000:  # Excel serials up to 2119
            return EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise ValueError(value)
    text = clean_text(value).replace(" ", "")
    if not text:
        return None
    if re.fullmatch(r"\d{8}", text):
        return _eight_digits(text)
    match = _DATE_SEPARATORS_RE.match(text)
    if match:
        return dt.date(*(int(part) for part in match.groups()))
    raise ValueError(value)


def _eight_digits(text: str) -> dt.date:
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


_YES = {"是", "有", "y", "yes", "true", "1", "√", "✓"}
_NO = {"否", "无", "没有", "n", "no", "false", "0", "×", "✗"}


def parse_flag(value: Any) -> bool | None:
    """是/否 as the national templates write it. A blank cell means "not known": None, never False.
    ValueError for anything that is neither."""
    if isinstance(value, bool):
        return value
    text = clean_text(value).lower()
    if not text:
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError(value)


def open_bytes(data: bytes, *, limits: SheetLimits | None = None, name: str = "upload.xlsx") -> Sheet:
    """open_sheet over bytes in memory (tests, the shell command reading a small file)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return open_sheet(SimpleUploadedFile(name, data), limits=limits)


__all__ = [
    "Sheet",
    "SheetLimits",
    "assert_openpyxl_defused",
    "clean_code",
    "clean_text",
    "open_bytes",
    "open_sheet",
    "parse_date",
    "parse_flag",
]
