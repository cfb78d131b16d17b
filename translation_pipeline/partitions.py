"""The one partitions definition: a dynamic partition per workbook version."""

import dagster as dg

workbooks = dg.DynamicPartitionsDefinition(name="workbooks")
