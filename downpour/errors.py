"""Errors that downpour reports to the user as one clear line.

Anything raised as a DownpourError is shown without a traceback and makes the
command exit with status 1; everything else is a bug.
"""


class DownpourError(Exception):
    """A problem the user can fix: bad input, an unreachable cloud, ..."""


class ResourceFileError(DownpourError):
    """The resource file cannot be read or does not validate."""


class CloudError(DownpourError):
    """The cloud could not be reached or refused a request."""


class ResolveError(DownpourError):
    """A resource named in the resource file matches nothing or several."""


class TransferError(DownpourError):
    """A blob could not be downloaded or failed verification."""
