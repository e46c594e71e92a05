"""What an Excel 97-2003 (.xls) file asks of its reader, checked before calamine opens it.

calamine parses every sheet of an .xls when the file is opened, and trusts three numbers in it with
an allocation the Python process cannot survive (a Rust allocation failure aborts the process: no
exception, the worker is gone). Measured with python-calamine 0.9.1 on 5.6 KB files:

- a DIMENSIONS record claiming 268 million rows: calamine reserves 21 GB and aborts;
- two cells at A1 and IV65536: calamine fills the 16.7-million-cell rectangle, 1.06 GB resident
  (so cells with values are held to the row and column limits; styled empty cells do not count);
- an SST record claiming 2 billion strings: a Vec::with_capacity of that many (not run here).

So this module reads the compound file's directory and FAT (MS-CFB), finds the Workbook stream as
calamine does (by name), and walks its BIFF records, refusing the file when a sheet's DIMENSIONS or
any cell lies beyond the limits or the SST claims more strings than the stream could hold. Memory:
the Workbook stream itself (at most the file's size, which open_sheet has already bounded).
Macros (the _VBA_PROJECT_CUR storage) are neither read here nor by calamine's .xls reader.
"""

from __future__ import annotations

import struct
from typing import IO

from django.core.exceptions import ValidationError

FREE, END_OF_CHAIN = 0xFFFFFFFF, 0xFFFFFFFE
# The records calamine turns into cells: FORMULA, MULRK, RSTRING, LABELSST, NUMBER, LABEL, BOOLERR, RK.
# Not BLANK and MULBLANK (styled empty cells, which calamine skips, as it skips them in .xlsx).
_CELL_RECORDS = {0x0006, 0x00BD, 0x00D6, 0x00FD, 0x0203, 0x0204, 0x0205, 0x027E}
_MULTI_CELL_RECORDS = {0x00BD}  # MULRK: the last column is in the record's last 2 bytes
# DIMENSIONS counts styled empty cells too (a sheet formatted down to row 65536 is legitimate), and
# calamine reserves its rectangle up front: allowed up to 4 million cells (about 160 MB reserved).
MAX_RESERVED_CELLS = 4_000_000
DIMENSIONS, SST, EOF, BOUNDSHEET = 0x0200, 0x00FC, 0x000A, 0x0085
MAX_SHEETS = 64


def _damaged() -> ValidationError:
    return ValidationError(
        "文件已损坏或不是有效的Excel 97-2003表格(.xls),无法读取。请在Excel中另存为.xlsx后再上传。", code="unreadable"
    )


class _Cfb:
    def __init__(self, data: bytes) -> None:
        if len(data) < 512:
            raise _damaged()
        self.data = data
        shift, mini_shift = struct.unpack_from("<HH", data, 30)
        if shift not in (9, 12) or mini_shift != 6:
            raise _damaged()
        self.sector_size = 1 << shift
        self.sector_count = max(0, (len(data) - self.sector_size) // self.sector_size)
        (fat_sectors, self.first_dir, _, self.cutoff, self.first_minifat, _, first_difat, difat_count) = (
            struct.unpack_from("<LLLLLLLL", data, 44)
        )
        if fat_sectors > self.sector_count or difat_count > self.sector_count:
            raise _damaged()
        self.fat = self._read_fat(fat_sectors, first_difat)

    def _sector(self, number: int) -> bytes:
        if number >= self.sector_count:
            raise _damaged()
        start = (number + 1) * self.sector_size
        return self.data[start : start + self.sector_size]

    def _read_fat(self, fat_sectors: int, first_difat: int) -> list[int]:
        locations = [n for n in struct.unpack_from("<109L", self.data, 76) if n < FREE][:fat_sectors]
        next_difat, per_sector = first_difat, self.sector_size // 4 - 1
        for _ in range(self.sector_count):
            if len(locations) >= fat_sectors or next_difat >= END_OF_CHAIN:
                break
            entries = struct.unpack(f"<{per_sector + 1}L", self._sector(next_difat))
            locations += [n for n in entries[:per_sector] if n < FREE]
            next_difat = entries[per_sector]
        fat: list[int] = []
        for location in locations[:fat_sectors]:
            fat += struct.unpack(f"<{self.sector_size // 4}L", self._sector(location))
        return fat

    def chain(self, first: int, table: list[int]) -> list[int]:
        """The sector numbers of a chain; a loop or a chain out of the table is damage."""
        sectors: list[int] = []
        current = first
        while current < END_OF_CHAIN - 1:
            if current >= len(table) or len(sectors) > len(table):
                raise _damaged()
            sectors.append(current)
            current = table[current]
        return sectors

    def read(self, first: int, size: int) -> bytes:
        stream = b"".join(self._sector(n) for n in self.chain(first, self.fat))
        if len(stream) < size:
            raise _damaged()
        return stream[:size]

    def entries(self) -> list[tuple[str, int, int, int]]:
        """The directory: (name, kind, first sector, size); kind 1 storage, 2 stream, 5 root."""
        directory = self.read(self.first_dir, len(self.chain(self.first_dir, self.fat)) * self.sector_size)
        entries = []
        for offset in range(0, len(directory) - 127, 128):
            name_len, kind = struct.unpack_from("<HB", directory, offset + 64)
            name = directory[offset : offset + max(0, min(name_len, 64) - 2)].decode("utf-16-le", "replace")
            start, size = struct.unpack_from("<LL", directory, offset + 116)
            entries.append((name, kind, start, size))
        if not entries or entries[0][1] != 5:
            raise _damaged()
        return entries

    def stream(self, names: tuple[str, ...]) -> bytes | None:
        """The first stream with one of ``names`` (calamine looks for "Workbook", then "Book")."""
        entries = self.entries()
        for wanted in names:
            for name, kind, start, size in entries:
                if kind == 2 and name == wanted:
                    if size > len(self.data):
                        raise _damaged()
                    return self._mini(start, size, entries[0]) if size < self.cutoff else self.read(start, size)
        return None

    def _mini(self, first: int, size: int, root: tuple[str, int, int, int]) -> bytes:
        minifat_bytes = self.read(self.first_minifat, len(self.chain(self.first_minifat, self.fat)) * self.sector_size)
        minifat = list(struct.unpack(f"<{len(minifat_bytes) // 4}L", minifat_bytes))
        container = self.read(root[2], min(root[3], len(self.data)))
        stream = b"".join(container[n * 64 : n * 64 + 64] for n in self.chain(first, minifat))
        if len(stream) < size:
            raise _damaged()
        return stream[:size]


def inspect_xls(handle: IO[bytes], *, max_rows: int, max_columns: int) -> None:
    """Refuses an .xls whose sheets reach beyond ``max_rows`` x ``max_columns`` or whose records would
    make calamine over-allocate. Walks the records as calamine does: the globals from the start to
    their EOF, then each sheet from the offset its BOUNDSHEET record gives (an offset may point
    anywhere, so a sequential walk alone could miss records calamine reads)."""
    handle.seek(0)
    try:
        cfb = _Cfb(handle.read())
        if any(name == "EncryptedPackage" for name, *_ in cfb.entries()):
            # A password-protected .xlsx is an OLE2 file holding the encrypted zip.
            raise ValidationError("文件设有密码,请在Excel中取消密码后再上传。", code="encrypted")
        workbook = cfb.stream(("Workbook", "Book"))
        if workbook is None:
            raise _damaged()
        walk = _Walk(workbook, max_rows=max_rows, max_columns=max_columns)
        for position in walk.run(0):
            walk.run(position)
    except (struct.error, IndexError, ValueError, OverflowError, MemoryError) as exc:
        raise _damaged() from exc  # a malformed file, said as one, not a 500


class _Walk:
    def __init__(self, stream: bytes, *, max_rows: int, max_columns: int) -> None:
        self.stream, self.max_rows, self.max_columns = stream, max_rows, max_columns
        # Real sheets are disjoint, so a file's records are walked about once; overlapping sheet
        # offsets (a hostile file) would multiply the work, and are refused past twice the stream.
        self.budget = 2 * len(stream) // 4 + 10_000

    def run(self, offset: int) -> set[int]:
        """Checks the records from ``offset`` to the next EOF; returns the BOUNDSHEET offsets seen."""
        sheets: set[int] = set()
        stream, end = self.stream, len(self.stream)
        while offset + 4 <= end:
            self.budget -= 1
            if self.budget < 0:
                raise _damaged()
            kind, length = struct.unpack_from("<HH", stream, offset)
            data = stream[offset + 4 : offset + 4 + length]
            offset += 4 + length
            if kind == EOF:
                break
            if kind == BOUNDSHEET and len(data) >= 4:
                sheets.add(struct.unpack_from("<L", data)[0])
                if len(sheets) > MAX_SHEETS:
                    raise ValidationError(
                        f"工作表过多(超过{MAX_SHEETS}个),请删去无关的工作表后再上传。", code="too_many_sheets"
                    )
            else:
                self._check(kind, data, end)
        return sheets

    def _check(self, kind: int, data: bytes, end: int) -> None:
        if kind == DIMENSIONS and len(data) in (10, 14):
            first_row, last_row, first_col, last_col = struct.unpack_from("<LLHH" if len(data) == 14 else "<HHHH", data)
            if first_row > last_row or first_col > last_col or last_row > 65536 or last_col > 256:
                raise _damaged()  # beyond what Excel 97-2003 can hold
            if (last_row - first_row) * (last_col - first_col) > MAX_RESERVED_CELLS:
                raise ValidationError(
                    "表格范围过大(含大量空白格式行或列),请删去多余的行列后再上传。", code="too_many_cells"
                )
        elif kind == SST and len(data) >= 8:
            (unique,) = struct.unpack_from("<l", data, 4)
            if unique < 0 or unique > end // 3:  # every string takes at least 3 bytes
                raise _damaged()
        elif kind in _CELL_RECORDS and len(data) >= 4:
            row, col = struct.unpack_from("<HH", data)
            if kind in _MULTI_CELL_RECORDS and len(data) >= 6:
                col = max(col, struct.unpack_from("<H", data, len(data) - 2)[0])
            self._limit(row + 1, col + 1)

    def _limit(self, rows: int, columns: int) -> None:
        if columns > self.max_columns:
            raise ValidationError(f"表格列数过多(超过{self.max_columns}列),请只保留需要的列。", code="too_many_columns")
        if rows > self.max_rows + 1000:  # the same headroom for title rows as the .xlsx check
            raise ValidationError(f"表格行数过多(超过{self.max_rows}行),请分批上传。", code="too_many_rows")
