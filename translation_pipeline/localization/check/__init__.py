"""Check the result: QA findings, report and glossary."""
