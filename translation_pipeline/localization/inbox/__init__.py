"""The drop folder: intake scans, the archive of dropped files, partition keys."""
