"""A realistic string table of N rows: repeats, speakers, notes, max lengths, placeholders, tags."""

from __future__ import annotations

import random
from pathlib import Path

from openpyxl import Workbook

SPEAKERS = ["村长", "铁匠", "商人", "系统", "公主", "骑士团长", ""]
FRAGMENTS = ["勇者", "晨曦村", "传说之剑", "魔王", "金币", "任务", "背包", "公会", "龙", "药水", "地图", "城堡"]
TEMPLATES = [
    "{a}在{b}等你。",
    "你获得了{{0}}个{a}！",
    "<color=#ffcc00>{a}</color>已经出现在{b}。",
    "需要%d枚{a}才能进入{b}。",
    "{a}：你的名字是{{name}}吗？",
    "确定",
    "取消",
    "前往{b}\\n与{a}对话。",
    "第{{0}}章：{a}与{b}",
    "{a}的{b}，{a}的%s。",
]
REPEAT_SHARE = 0.2  # a fifth of rows repeat an earlier string, as UI labels and barks do


def write_workbook(path: Path, rows: int, seed: int = 7) -> tuple[Path, int]:
    """Write the workbook; returns (path, unique source strings)."""
    rng = random.Random(seed)
    workbook = Workbook()  # not write-only: shared strings and a dimension tag, as Excel saves a workbook
    sheet = workbook.active
    sheet.title = "Dialog"
    sheet.append(["Key", "Speaker", "中文", "English", "日本語", "Notes", "max_len"])
    seen: list[str] = []
    for index in range(rows):
        if seen and rng.random() < REPEAT_SHARE:
            text = rng.choice(seen)
        else:
            template = rng.choice(TEMPLATES)
            text = template.format(a=rng.choice(FRAGMENTS), b=rng.choice(FRAGMENTS)) + f"（{index}）"
            seen.append(text)
        max_len = rng.choice([None, None, None, 40, 60])
        sheet.append([f"dlg_{index:06d}", rng.choice(SPEAKERS), text, None, None, rng.choice(["", "bark", "quest"]),
                      max_len])  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path, len(set(seen))
