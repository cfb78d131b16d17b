"""Plan the work: tasks (split, dedupe, batch) and the dry-run estimate."""
