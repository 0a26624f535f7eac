"""Everything that reads or writes files: recordings, dose tables, metadata and outputs."""
