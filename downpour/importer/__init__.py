"""The import engine: what ``ansible-playbook`` runs in the target.

``downpour export`` ships this package with the playbook, as the
module_utils of a collection in OUTPUT_DIR/collections/ (see
downpour/collection/), so that the import machine needs only Ansible,
openstacksdk and the output directory.  Everything in it imports only the
standard library, openstacksdk (when a call is made) and its own modules,
by relative imports, which hold under either name: ``downpour.importer``
here, the collection's module_utils there.

- definitions: what each resource type is, declared once;
- engine: the one loop (find, compare, create or correct), the look;
- kind: what every type's import home answers; one home per type
  (network.py, server.py, ...), named as on the export side;
- journal: journal.csv and uuids.csv, and the kinds' tables;
- pipeline: the overlapped work of a real run;
- uploads: bytes into images, verified.
"""

from .definitions import BY_NAME, ORDER, TYPES
from .engine import KINDS, LISTS, Importer, run_module
from .journal import Journal
from .kind import ADOPTED, CREATED, MAPPED, REUSED, ImportFailed, describe
from .pipeline import Pipeline

__all__ = ['ADOPTED', 'BY_NAME', 'CREATED', 'KINDS', 'LISTS', 'MAPPED',
           'ORDER', 'REUSED', 'TYPES', 'ImportFailed', 'Importer', 'Journal',
           'Pipeline', 'describe', 'run_module']
