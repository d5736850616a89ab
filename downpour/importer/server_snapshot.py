"""Server snapshots: the captured disk of a server, uploaded and verified
as an image is; the new server boots from it."""

from .image import Images


class ServerSnapshots(Images):
    """An image of the import's own, made from the capture's blob.  It
    maps no source ID of its own (uuids.csv maps the server's), so the
    journal keeps it apart (``definitions.Type.mapped``)."""
