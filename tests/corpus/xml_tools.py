"""Raw zip/XML post-processing for corpus workbooks: what openpyxl cannot write by itself.

openpyxl 3.1 writes every string as an inline string; files saved by Excel, WPS or LibreOffice use a shared-string
table, so the corpus converts most workbooks to shared strings afterwards.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Callable
from pathlib import Path

from lxml import etree

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
SST_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
SST_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
XLSM_CT = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"

_M = f"{{{MAIN}}}"


def _q(tag: str) -> str:
    return _M + tag


def rewrite_zip(path: Path, edits: dict[str, Callable[[bytes], bytes]], add: dict[str, bytes] | None = None) -> None:
    """Rewrite members of the package at ``path`` in place (edits by member name), appending ``add`` members."""
    path = Path(path)
    with zipfile.ZipFile(path) as zin:
        members = [(info, zin.read(info.filename)) for info in zin.infolist()]
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in members:
            if info.filename in edits:
                data = edits[info.filename](data)
            zout.writestr(info.filename, data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    tmp.replace(path)


def _xml(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(remove_blank_text=False, huge_tree=True))


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def sheet_parts(path: Path) -> dict[str, str]:
    """Sheet title -> zip member name of its worksheet part."""
    with zipfile.ZipFile(path) as z:
        wb = _xml(z.read("xl/workbook.xml"))
        rels = _xml(z.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels}
    out = {}
    for sheet in wb.iter(_q("sheet")):
        target = targets[sheet.get(f"{{{REL}}}id")]
        out[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
    return out


def share_strings(path: Path, keep_inline: dict[str, set[str]] | None = None) -> None:
    """Move inline strings into a shared-string table, except the cells named in ``keep_inline`` (title -> cells)."""
    keep_inline = keep_inline or {}
    parts = sheet_parts(path)
    strings: list[etree._Element] = []
    index: dict[bytes, int] = {}
    refs = 0
    edits: dict[str, Callable[[bytes], bytes]] = {}
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        payload = {part: z.read(part) for part in parts.values()}
    if "xl/sharedStrings.xml" in names:
        raise ValueError("package already has a shared-string table")
    new_parts = {}
    for title, part in parts.items():
        root = _xml(payload[part])
        keep = keep_inline.get(title, set())
        for c in root.iter(_q("c")):
            if c.get("t") != "inlineStr" or c.get("r") in keep:
                continue
            inline = c.find(_q("is"))
            if inline is None:
                continue
            si = etree.Element(_q("si"), nsmap={None: MAIN})
            for child in inline:
                si.append(child)
            key = etree.tostring(si)
            if key not in index:
                index[key] = len(strings)
                strings.append(si)
            refs += 1
            c.remove(inline)
            c.set("t", "s")
            v = etree.SubElement(c, _q("v"))
            v.text = str(index[key])
        new_parts[part] = _bytes(root)
    for part, data in new_parts.items():
        edits[part] = lambda _old, data=data: data
    sst = etree.Element(_q("sst"), nsmap={None: MAIN}, count=str(refs), uniqueCount=str(len(strings)))
    for si in strings:
        sst.append(si)

    def fix_rels(data: bytes) -> bytes:
        root = _xml(data)
        used = {r.get("Id") for r in root}
        n = 1
        while f"rIdSst{n}" in used:
            n += 1
        etree.SubElement(root, f"{{{PKG_REL}}}Relationship", Id=f"rIdSst{n}", Type=SST_TYPE, Target="sharedStrings.xml")
        return _bytes(root)

    def fix_ct(data: bytes) -> bytes:
        root = _xml(data)
        etree.SubElement(root, f"{{{CT}}}Override", PartName="/xl/sharedStrings.xml", ContentType=SST_CT)
        return _bytes(root)

    edits["xl/_rels/workbook.xml.rels"] = fix_rels
    edits["[Content_Types].xml"] = fix_ct
    rewrite_zip(path, edits, add={"xl/sharedStrings.xml": _bytes(sst)})


def set_dimension(path: Path, title: str, ref: str) -> None:
    """Write a stale ``<dimension ref=...>`` into one sheet, as tools that append rows without updating it leave."""
    part = sheet_parts(path)[title]

    def edit(data: bytes) -> bytes:
        root = _xml(data)
        dim = root.find(_q("dimension"))
        if dim is None:
            dim = etree.Element(_q("dimension"))
            root.insert(1 if root.find(_q("sheetPr")) is not None else 0, dim)
        dim.set("ref", ref)
        return _bytes(root)

    rewrite_zip(path, {part: edit})


XF = (
    '<xf xmlns="%s" numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1" '
    'applyProtection="1"><alignment horizontal="general" vertical="center" wrapText="1" indent="%d"/>'
    '<protection locked="1" hidden="0"/></xf>'
)


def bloat_styles(path: Path, total: int, restyle: dict[str, int] | None = None) -> None:
    """Grow cellXfs to ``total`` entries (the copy-paste style explosion of old shared workbooks).

    ``restyle`` maps sheet title -> first style index: every cell of that sheet gets a distinct high style id.
    """
    edits: dict[str, Callable[[bytes], bytes]] = {}

    def edit_styles(data: bytes) -> bytes:
        root = _xml(data)
        xfs = root.find(_q("cellXfs"))
        have = len(xfs)
        chunk = "".join(XF % (MAIN, i % 15) for i in range(have, total))
        wrapper = etree.fromstring(f'<w xmlns="{MAIN}">{chunk}</w>'.encode())
        xfs.extend(list(wrapper))
        xfs.set("count", str(len(xfs)))
        return _bytes(root)

    edits["xl/styles.xml"] = edit_styles
    for title, first in (restyle or {}).items():
        part = sheet_parts(path)[title]

        def edit_sheet(data: bytes, first: int = first) -> bytes:
            root = _xml(data)
            for n, c in enumerate(root.iter(_q("c"))):
                c.set("s", str(first + n % (total - first)))
            return _bytes(root)

        edits[part] = edit_sheet
    rewrite_zip(path, edits)


def make_macro_enabled(path: Path) -> None:
    """Give the workbook part the macro-enabled content type (an .xlsm without a vbaProject part)."""

    def edit(data: bytes) -> bytes:
        root = _xml(data)
        for o in root.iter(f"{{{CT}}}Override"):
            if o.get("PartName") == "/xl/workbook.xml":
                o.set("ContentType", XLSM_CT)
        return _bytes(root)

    rewrite_zip(path, {"[Content_Types].xml": edit})
