"""A small but realistic string table, made in code, for the demo and the tests. Its bytes are the same on every
write, so the demo's partition key (name and SHA-256) is too."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.writer.excel import ExcelWriter

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="305496")
SAMPLE_DATE = datetime(2024, 1, 1)  # the document's created and modified dates, and its zip entries' dates

DIALOG = [
    # key, speaker, 中文, English, 日本語, 한국어, notes, max_len
    ("dlg_0001", "村长", "勇者，欢迎来到晨曦村！", None, None, None, "first meeting", None),
    ("dlg_0002", "村长", "你的名字是{name}吗？", None, None, None, "{name} is the player name", None),
    ("dlg_0003", "铁匠", "修理需要%d金币。", None, None, None, "%d = price", None),
    ("dlg_0004", "铁匠", "<color=#ffcc00>传说之剑</color>已经锻造完成。", None, None, None, None, None),
    ("dlg_0005", "商人", "确定", "OK", None, None, "button in dialog", 8),
    ("dlg_0006", "商人", "背包已满。\\n请先整理物品。", None, "持ち物がいっぱいです。", None, None, None),
    ("dlg_0007", "村长", "勇者，欢迎来到晨曦村！", None, None, None, "repeated line", None),
    ("dlg_0008", "系统", 1200, None, None, None, "a number, not text", None),
    ("dlg_0009", "系统", "   ", None, None, None, "blank source", None),
    ("dlg_0010", "村长", "第{0}章：{1}", None, None, None, "chapter title", 20),
]

UI = [
    ("ui_confirm", "确定", None, None, None, "button", 8),
    ("ui_cancel", "取消", None, None, None, "button", 8),
    ("ui_settings", "设置", "Settings", None, None, "menu", 12),
    ("ui_quit", "退出游戏", None, None, None, "menu", 12),
    ("ui_gold", "金币：%s", None, None, None, "HUD", 16),
]


def _header(sheet, names: list[str], widths: list[int]) -> None:
    sheet.append(names)
    for cell, width in zip(sheet[1], widths, strict=True):
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
        sheet.column_dimensions[cell.column_letter].width = width
    sheet.freeze_panes = "A2"


def _reproducible_bytes(workbook: Workbook) -> bytes:
    """The .xlsx package of `workbook` without the time of writing: openpyxl stamps docProps/core.xml's modified
    date and each zip entry's date with the current time; here both are SAMPLE_DATE."""
    workbook.properties.created = workbook.properties.modified = SAMPLE_DATE
    written = io.BytesIO()
    ExcelWriter(workbook, zipfile.ZipFile(written, "w", zipfile.ZIP_DEFLATED)).save()  # save() without the stamp
    fixed = io.BytesIO()
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(fixed, "w") as target:
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=SAMPLE_DATE.timetuple()[:6])
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, entry.external_attr
            target.writestr(info, source.read(entry))
    return fixed.getvalue()


def write_sample_workbook(path: Path) -> Path:
    """Three sheets: dialog (中文 -> English, 日本語, 한국어), UI (zh-CN -> en, ja, ko), and a config sheet
    without language columns that must stay untouched."""
    workbook = Workbook()
    dialog = workbook.active
    dialog.title = "Dialog"
    _header(
        dialog,
        ["Key", "Speaker", "中文", "English", "日本語", "한국어", "Notes", "max_len"],
        [12, 10, 40, 40, 40, 40, 24, 9],
    )
    for row in DIALOG:
        dialog.append(list(row))
    dialog["C2"].comment = Comment("First line the player sees.", "Writer")
    dialog.append(["dlg_0011", "系统", "=B2", None, None, None, "formula, never translated", None])

    ui = workbook.create_sheet("UI")
    _header(ui, ["key", "zh-CN", "en", "ja", "ko", "context", "max length"], [14, 20, 20, 20, 20, 16, 11])
    for row in UI:
        ui.append(list(row))
    state = DataValidation(type="list", formula1='"todo,review,done"', allow_blank=True)
    ui.add_data_validation(state)
    state.add("H2:H6")

    config = workbook.create_sheet("Config")
    config.append(["setting", "value"])
    config.append(["version", "1.4.2"])
    config.sheet_state = "hidden"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_reproducible_bytes(workbook))
    return path
