"""The batch lane: the providers' Batch APIs (half price, answers within 24 h) on the same batch contract as the
realtime lane. `lane.BatchLane` moves a workbook's work on; `records` keeps every step in the project store;
`client` talks to the Batch API through the `openai` SDK; `jsonl` writes input files and reads results."""
