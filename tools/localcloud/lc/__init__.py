"""Logic of the localcloud command (system python3, stdlib only)."""
