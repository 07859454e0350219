"""Spreadsheets in and out: CSV/XLSX imports validated row by row, XLSX exports (openpyxl)."""

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from pydantic import BaseModel, ValidationError

from shared.problems import Problem

M = TypeVar("M", bound=BaseModel)
Row = tuple[int, dict[str, str]]  # (line number as a person sees it in the file, column -> cell text)


def read_rows(filename: str, content: bytes) -> list[Row]:
    """The data rows of a CSV (UTF-8, UTF-8 with BOM, or GB18030) or XLSX file, keyed by the header row."""
    if content.startswith(b"PK\x03\x04") or filename.lower().endswith(".xlsx"):
        return _xlsx_rows(content)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Problem(422, "unreadable_file", detail="无法识别文件编码 / cannot decode the file")
    try:  # newline=None: lines may end in \n, \r\n or a bare \r (older spreadsheets on a Mac)
        lines = list(csv.reader(io.StringIO(text, newline=None)))
    except csv.Error as exc:
        raise Problem(422, "unreadable_file", detail=f"无法读取 CSV / cannot read the CSV file: {exc}") from exc
    return _keyed(lines)


def _xlsx_rows(content: bytes) -> list[Row]:
    try:
        sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise Problem(422, "unreadable_file", detail=f"无法读取 XLSX / cannot read the XLSX file: {exc}") from exc
    lines = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    return _keyed(lines)


def _keyed(lines: list[list[str]]) -> list[Row]:
    if not lines:
        raise Problem(422, "empty_file", detail="文件为空 / the file is empty")
    header = [h.strip().lower() for h in lines[0]]
    rows = []
    for number, cells in enumerate(lines[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        rows.append((number, {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header) if h}))
    return rows


def validate_rows(rows: Sequence[Row], model: type[M]) -> tuple[list[M], list[dict[str, Any]]]:
    """Every row validated: the models, and the errors as {line, field, reason, code} (empty if all are valid)."""
    valid: list[M] = []
    errors: list[dict[str, Any]] = []
    for line, row in rows:
        try:
            valid.append(model.model_validate({k: v for k, v in row.items() if v != ""}))
        except ValidationError as exc:
            for e in exc.errors():
                field = ".".join(str(p) for p in e["loc"]) or "(row)"
                errors.append({"line": line, "field": field, "reason": e["msg"], "code": e["type"]})
    return valid, errors


# A spreadsheet reads text starting with these as a formula (=HYPERLINK(…), =cmd|' /C calc'!A0, +1-2, @SUM(…));
# a leading tab or CR hides such a start from a naive check.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def xlsx_bytes(sheets: dict[str, tuple[Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """An XLSX workbook with one sheet per entry: (header, rows); every string is written as text, never a formula."""
    book = Workbook()
    book.remove(book.active)
    for title, (header, rows) in sheets.items():
        sheet = book.create_sheet(title[:31])
        for row in (header, *rows):
            sheet.append([_cell_text(v) if isinstance(v, str) else v for v in row])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
                    # openpyxl made "=…" a formula cell: keep it a string, and quote-prefixed so that
                    # editing the cell in Excel or WPS does not turn it into one either
                    cell.data_type = "s"
                    cell.quotePrefix = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell_text(value: str) -> str:
    # control characters are not allowed in XLSX: openpyxl would refuse the whole export for one of them
    return str(ILLEGAL_CHARACTERS_RE.sub("", value))
