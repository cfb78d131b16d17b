"""A generator of hostile workbook packages: what an attacker, or a broken tool, puts in an .xlsx.

Each case starts from a small, valid string table (Key, 中文, English) and changes its zip: DTDs and entities
in each XML part (internal, external, parameter, billion laughs, entity-made sheet names), a DTD hidden
behind a long comment, repeated sheet names, entry names that leave the package, zip bombs by part size, by
ratio and in total, and central directories that lie about a part's size.

`build(case, path, scale)` writes the case. `scale` is the size of the bombs in MiB: the tests run them with
limits of a few MiB (TRANSLATION_MAX_PART_MB ...), the benchmark with gigabytes against the defaults.
Every case has the start of the one line a person must see, `EXPECTED[case]`.

    .venv/bin/python -m tests.hostile_packages OUT_DIR [--scale MIB]   # writes every case
"""

from __future__ import annotations

import argparse
import re
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

from tests.workbook_factory import build_table

TABLE = [["Key", "中文", "English"], ["ui.ok", "确定", None], ["ui.cancel", "取消", None], ["ui.back", "返回", None]]
XML_PARTS = [
    "[Content_Types].xml", "_rels/.rels", "docProps/app.xml", "docProps/core.xml", "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/theme/theme1.xml", "xl/worksheets/sheet1.xml",
    "xl/sharedStrings.xml",
]  # fmt: skip
INVALID = "not a valid Excel package"
DAMAGED = "not a readable .xlsx workbook: the file is damaged or not an Excel workbook"
MIB = 1 << 20

INTERNAL = b'<!DOCTYPE r [<!ENTITY e "UI">]>'
EXTERNAL = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
PARAMETER = b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>'
LAUGHS = b"<!DOCTYPE r [" + b'<!ENTITY a0 "ha">' + b"".join(
    b'<!ENTITY a%d "' % i + b"&a%d;" % (i - 1) * 10 + b'">' for i in range(1, 10)
) + b"]>"


DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
_INLINE = re.compile(rb't="inlineStr"><is><t>(.*?)</t></is>')
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def as_excel_writes(items: dict[str, bytes]) -> dict[str, bytes]:
    """openpyxl's parts as Excel writes them: an XML declaration on each, the text in a shared string table."""
    strings: dict[bytes, int] = {}

    def shared(match: re.Match[bytes]) -> bytes:
        return b't="s"><v>%d</v>' % strings.setdefault(match.group(1), len(strings))

    for name in [n for n in items if n.startswith("xl/worksheets/")]:
        items[name] = _INLINE.sub(shared, items[name])
    table = b"".join(b"<si><t>%s</t></si>" % text for text in strings)
    items["xl/sharedStrings.xml"] = (
        f'<sst xmlns="{MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">'.encode() + table + b"</sst>"
    )
    items["[Content_Types].xml"] = items["[Content_Types].xml"].replace(
        b"</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST_TYPE}"/></Types>'.encode())
    items["xl/_rels/workbook.xml.rels"] = items["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", f'<Relationship Id="rIdSst" Type="{SST_REL}" Target="sharedStrings.xml"/>'
        "</Relationships>".encode())  # fmt: skip
    return {name: data if data.startswith(b"<?xml") or not name.endswith((".xml", ".rels")) else DECLARATION + data
            for name, data in items.items()}  # fmt: skip


def base(path: Path, sheets: dict[str, list[list[object]]] | None = None) -> None:
    """A small valid string table, saved as Excel saves it."""
    build_table(path, sheets or {"UI": TABLE})
    rewrite(path, as_excel_writes)


def rewrite(path: Path, change: Callable[[dict[str, bytes]], dict[str, bytes]]) -> None:
    """Rewrite the zip at `path` with `change` applied to its {entry name: bytes}, deflated, in order."""
    with zipfile.ZipFile(path) as source:
        items = {info.filename: source.read(info) for info in source.infolist()}
    items = change(items)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in items.items():
            target.writestr(name, data)


def _after_declaration(data: bytes, insert: bytes) -> bytes:
    """`insert` right after the XML declaration (or at the start when there is none)."""
    end = data.find(b"?>") + 2 if data.startswith(b"<?xml") else 0
    return data[:end] + insert + data[end:]


def dtd_in(part: str, dtd: bytes = INTERNAL, use: bytes = b"") -> Callable[[Path], None]:
    def build(path: Path) -> None:
        base(path)

        def change(items: dict[str, bytes]) -> dict[str, bytes]:
            data = _after_declaration(items[part], dtd)
            if use:  # an entity reference in the first text the part holds
                data = data.replace(b"</t>", use + b"</t>", 1)
            return {**items, part: data}

        rewrite(path, change)

    return build


def _entity_sheet_name(path: Path) -> None:
    base(path)
    rewrite(path, lambda items: {**items, "xl/workbook.xml": _after_declaration(
        items["xl/workbook.xml"], INTERNAL).replace(b'name="UI"', b'name="&e;"')})  # fmt: skip


def _comment_then_dtd(comment_bytes: int) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        base(path)
        padding = b"<!--" + b"x" * comment_bytes + b"-->"
        rewrite(path, lambda items: {**items, "xl/worksheets/sheet1.xml": _after_declaration(
            items["xl/worksheets/sheet1.xml"], padding + INTERNAL)})  # fmt: skip

    return build


def _repeated_sheet_name(second: str) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        base(path, {"UI": TABLE, "Other": TABLE})  # openpyxl renames a repeat: made by hand
        rewrite(path, lambda items: {**items, "xl/workbook.xml": items["xl/workbook.xml"].replace(
            b'name="Other"', f'name="{second}"'.encode())})  # fmt: skip

    return build


def _with_entry(name: str) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        base(path)
        rewrite(path, lambda items: {**items, name: b"planted"})

    return build


def _stream_entry(path: Path, name: str, size: int, fill: bytes = b" ") -> None:
    """Append entry `name` of `size` bytes of `fill`, written in 1 MiB chunks (a GiB costs no memory)."""
    chunk = fill * (MIB // len(fill))
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, allowZip64=True) as package:
        entry = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.file_size = size  # so zipfile picks ZIP64 records when they are needed
        with package.open(entry, "w") as stream:
            left = size
            while left > 0:
                stream.write(chunk[: min(left, MIB)])
                left -= MIB


def _padded_sheet(size: int) -> Callable[[Path], None]:
    """The worksheet itself padded with `size` bytes of white space inside `<sheetData>` (valid XML)."""

    def build(path: Path) -> None:
        base(path)
        with zipfile.ZipFile(path) as source:
            items = {info.filename: source.read(info) for info in source.infolist()}
        sheet = items.pop("xl/worksheets/sheet1.xml")
        head, tail = sheet.split(b"<sheetData>", 1)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as target:
            for name, data in items.items():
                target.writestr(name, data)
            entry = zipfile.ZipInfo("xl/worksheets/sheet1.xml", date_time=(2026, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.file_size = size + len(sheet)
            with target.open(entry, "w") as stream:
                stream.write(head + b"<sheetData>")
                left = size
                while left > 0:
                    stream.write(b" " * min(left, MIB))
                    left -= MIB
                stream.write(tail)

    return build


def _lie_about_size(path: Path, name: str, claimed: int) -> None:
    """Make the local header and the central directory say entry `name` unpacks to `claimed` bytes."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as package:
        info = package.getinfo(name)
    assert info.file_size < 0xFFFFFFFF, "a ZIP64 entry keeps its sizes elsewhere"
    struct.pack_into("<I", data, info.header_offset + 22, claimed)  # local header: uncompressed size
    encoded = name.encode()
    position = data.find(b"PK\x01\x02")
    while position != -1:
        length = struct.unpack_from("<H", data, position + 28)[0]
        if bytes(data[position + 46 : position + 46 + length]) == encoded:
            struct.pack_into("<I", data, position + 24, claimed)  # central directory: uncompressed size
            break
        position = data.find(b"PK\x01\x02", position + 4)
    path.write_bytes(bytes(data))


def _pad(size_mib: float, lie: int | None = None) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        base(path)
        _stream_entry(path, "xl/media/pad.bin", int(size_mib * MIB), b"\x00")
        if lie is not None:
            _lie_about_size(path, "xl/media/pad.bin", lie)

    return build


def _many_parts(count: int, size_mib: float) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        base(path)
        for index in range(count):
            _stream_entry(path, f"xl/media/image{index + 1}.bin", int(size_mib * MIB), b"\x00")

    return build


def _lying_sheet(path: Path) -> None:
    """The worksheet part claims to be 100 bytes: reading it must stop there and fail the CRC check."""
    base(path)
    _lie_about_size(path, "xl/worksheets/sheet1.xml", 100)


def cases(scale: float = 3) -> dict[str, tuple[Callable[[Path], None], str]]:
    """{case: (build(path), start of the expected problem)}. The bombs are `scale` MiB; the ratio case is
    17 MiB at least (a part is judged by its ratio from 16 MiB)."""
    found: dict[str, tuple[Callable[[Path], None], str]] = {}
    for part in XML_PARTS:
        slug = part.replace("/", "_").replace("[", "").replace("]", "").replace(".", "_")
        found[f"dtd_{slug}"] = (dtd_in(part), f"{INVALID}: {part} declares a DTD")
    sheet, strings = "xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"
    found |= {
        "external_entity": (dtd_in(strings, EXTERNAL, b"&x;"), f"{INVALID}: {strings} declares a DTD"),
        "parameter_entity": (dtd_in(sheet, PARAMETER), f"{INVALID}: {sheet} declares a DTD"),
        "billion_laughs": (dtd_in(strings, LAUGHS, b"&a9;"), f"{INVALID}: {strings} declares a DTD"),
        "entity_sheet_name": (_entity_sheet_name, f"{INVALID}: xl/workbook.xml declares a DTD"),
        "dtd_after_comment": (_comment_then_dtd(10_000), f"{INVALID}: {sheet} declares a DTD"),
        "dtd_after_long_comment": (_comment_then_dtd(70_000), f"{INVALID}: {sheet} has more than 64 KiB before"),
        "undeclared_entity": (dtd_in(strings, b"", b"&e;"), f"{DAMAGED} (XMLSyntaxError: "),
        "repeated_sheet_name": (_repeated_sheet_name("UI"), f"{INVALID}: two sheets are named 'UI' and 'UI'"),
        "repeated_sheet_name_case": (_repeated_sheet_name("ui"), f"{INVALID}: two sheets are named 'UI' and 'ui'"),
        "traversal_entry": (_with_entry("../../../../tmp/x.txt"), f"{INVALID}: zip entry '../../../../tmp/x.txt'"),
        "absolute_entry": (_with_entry("/tmp/x.txt"), f"{INVALID}: zip entry '/tmp/x.txt' points outside"),
        "inner_traversal_entry": (_with_entry("xl/../../x.txt"), f"{INVALID}: zip entry 'xl/../../x.txt'"),
        "drive_entry": (_with_entry("C:/x.txt"), f"{INVALID}: zip entry 'C:/x.txt' points outside"),
        "bomb_by_part": (_pad(scale), f"{INVALID}: xl/media/pad.bin unpacks to {scale:.1f} MiB, over the limit"),
        "bomb_by_ratio": (_padded_sheet(int(max(scale, 17) * MIB)), f"{INVALID}: {sheet} unpacks to "),
        "bomb_in_total": (_many_parts(4, scale * 0.3), f"{INVALID}: the parts unpack to "),
        "lying_directory": (_pad(scale, lie=1000), f"{DAMAGED} (BadZipFile: Bad CRC-32 for file 'xl/media/pad.bin')"),
        "lying_sheet_size": (_lying_sheet, f"{DAMAGED} (BadZipFile: Bad CRC-32 for file '{sheet}')"),
    }
    return found


def limits_env(scale: float = 3) -> dict[str, str]:
    """Limits under which every bomb of `cases(scale)` is refused and the valid base passes."""
    part = max(1, int(scale * 0.5))
    return {
        "TRANSLATION_MAX_PART_MB": str(part),
        "TRANSLATION_MAX_PACKAGE_MB": str(max(part, int(scale))),
        "TRANSLATION_MAX_COMPRESSION_RATIO": "200",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--scale", type=float, default=3, help="bomb size in MiB")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for case, (build, _) in cases(args.scale).items():
        build(args.out / f"{case}.xlsx")
        print(args.out / f"{case}.xlsx")


if __name__ == "__main__":
    main()
