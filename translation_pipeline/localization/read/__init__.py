"""Read a workbook: package checks, sheets, header and column detection, languages."""
