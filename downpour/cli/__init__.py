"""The downpour command line: a cliff application and its commands."""
