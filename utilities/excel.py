"""Excel in and out (openpyxl). Pure helpers: no Django import.

openpyxl is imported by the functions that use it, not with this module: every process imports this module (the
import pipeline registers with it) and most never open a workbook; openpyxl weighs ~30 MB of memory."""

import csv
import io
from collections.abc import Iterable, Sequence
from functools import cache


@cache
def _styles():
    """(header font, header fill, error fill)."""
    from openpyxl.styles import Font, PatternFill

    return Font(bold=True), PatternFill("solid", fgColor="DDEBF7"), PatternFill("solid", fgColor="F8CBAD")


def write_table(headers: Sequence[str], rows: Iterable[Sequence], *, title: str = "数据",
                footer: str | None = None) -> bytes:
    """A one-sheet workbook: bold header row, frozen, then the rows; ``footer`` (e.g. a watermark
    naming who exported it and when) goes on a line under the data."""
    from openpyxl import Workbook

    header_font, header_fill, _ = _styles()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    ws.freeze_panes = "A2"
    from openpyxl.cell import WriteOnlyCell

    header_cells = []
    for h in headers:
        cell = WriteOnlyCell(ws, value=str(h))
        cell.font, cell.fill = header_font, header_fill
        header_cells.append(cell)
    ws.append(header_cells)
    for row in rows:
        ws.append([_cell_value(v) for v in row])
    if footer:
        ws.append([])
        ws.append([footer])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell_value(value):
    if value is None or isinstance(value, (int, float, str)):
        return value
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return value.replace(tzinfo=None)
    if isinstance(value, (list, tuple, set)):
        return "、".join(str(v) for v in value)
    return str(value) if not hasattr(value, "isoformat") else value


def template_workbook(headers: Sequence[str], notes: Sequence[tuple[str, str]], example: Sequence | None = None,
                      title: str = "导入", text_columns: Sequence[str] = (),
                      choices: dict[str, Sequence[str]] | None = None, rows: int = 2000) -> bytes:
    """An import template: the header row (each column's help as a cell comment), an empty data area
    where code columns are formatted as text (so Excel keeps 18-digit codes and leading zeros) and
    choice columns offer a drop-down, a 说明 sheet with the help and an example, and a hidden 选项
    sheet holding the drop-down values."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.worksheet.datavalidation import DataValidation

    header_font, header_fill, _ = _styles()
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    note_by_header = dict(notes)
    options = wb.create_sheet("选项")
    for col, header in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=col, value=header)
        cell.font, cell.fill = header_font, header_fill
        letter = cell.column_letter
        ws.column_dimensions[letter].width = max(12, len(header) * 2 + 4)
        if note_by_header.get(header):
            cell.comment = Comment(note_by_header[header], "Jindu")
        if header in text_columns:
            for row in range(2, rows + 2):
                ws.cell(row=row, column=col).number_format = "@"
        values = (choices or {}).get(header)
        if values:
            for i, value in enumerate(values, start=1):
                options.cell(row=i, column=col, value=str(value))
            validation = DataValidation(type="list", formula1=f"'选项'!${letter}$1:${letter}${len(values)}",
                                        allow_blank=True, showErrorMessage=False)
            ws.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}{rows + 1}")
    options.sheet_state = "hidden"
    ws.freeze_panes = "A2"
    help_ws = wb.create_sheet("说明", 1)
    help_ws.append(["列", "说明", "示例"])
    for i, (header, note) in enumerate(notes):
        help_ws.append([header, note, (example[i] if example and i < len(example) else None)])
    help_ws.column_dimensions["A"].width = 24
    help_ws.column_dimensions["B"].width = 80
    help_ws.column_dimensions["C"].width = 28
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


class UnreadableFile(ValueError):
    pass


def read_rows(data: bytes, file_name: str) -> tuple[list[str], list[list]]:
    """Headers and data rows of the first sheet of an xlsx file, or of a CSV (UTF-8 or GB18030).

    Completely empty rows are dropped; their row numbers are kept by returning (excel_row, values).
    """
    name = file_name.lower()
    if name.endswith(".csv"):
        text = None
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        if text is None:
            raise UnreadableFile("CSV is neither UTF-8 nor GB18030")
        table = list(csv.reader(io.StringIO(text)))
    elif name.endswith(".xlsx") or name.endswith(".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise UnreadableFile(f"not a readable xlsx file: {exc}") from exc
        ws = wb.worksheets[0]
        table = [list(r) for r in ws.iter_rows(values_only=True)]
        wb.close()
    else:
        raise UnreadableFile("only .xlsx and .csv files are accepted")
    if not table:
        raise UnreadableFile("the file is empty")
    headers = [str(h).strip() if h is not None else "" for h in table[0]]
    rows = []
    for index, row in enumerate(table[1:], start=2):
        if all(v is None or str(v).strip() == "" for v in row):
            continue
        rows.append((index, list(row) + [None] * (len(headers) - len(row))))
    return headers, rows


def error_workbook(headers: Sequence[str], rows: Sequence[tuple[int, Sequence]],
                   errors: dict[int, dict[str, str]]) -> bytes:
    """The uploaded rows with an added 错误 column; each bad cell is filled and carries its message."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment

    header_font, header_fill, error_fill = _styles()
    wb = Workbook()
    ws = wb.active
    ws.title = "错误"
    all_headers = ["行号", *headers, "错误"]
    for col, header in enumerate(all_headers, start=1):
        cell = ws.cell(row=1, column=col, value=header)
        cell.font, cell.fill = header_font, header_fill
    out_row = 2
    column_of = {h: i for i, h in enumerate(headers, start=2)}
    for excel_row, values in rows:
        row_errors = errors.get(excel_row)
        if not row_errors:
            continue
        ws.cell(row=out_row, column=1, value=excel_row)
        for col, value in enumerate(values[: len(headers)], start=2):
            ws.cell(row=out_row, column=col, value=_cell_value(value))
        messages = []
        for header, message in row_errors.items():
            messages.append(f"{header}: {message}")
            if header in column_of:
                cell = ws.cell(row=out_row, column=column_of[header])
                cell.fill = error_fill
                cell.comment = Comment(message, "Jindu")
        msg_cell = ws.cell(row=out_row, column=len(all_headers), value="；".join(messages))
        msg_cell.alignment = Alignment(wrap_text=True)
        out_row += 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
