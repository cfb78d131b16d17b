"""Continuous localization: new versions of a workbook (same lineage), reviewers' edits kept and learned, stale
machine text translated again.

- `lineage`: which files are versions of one workbook, and a row's identity within it;
- `classify`: what each target cell of a new version is (translate, keep, stale, human, review, other);
- `plan`: the version against the project store: classified and learned at planning, recorded at export, and
  the QA report's figures and lists.
"""
