"""Reports on a trace beyond the summary table: pictures, an HTML page, Perfetto, diffs."""
