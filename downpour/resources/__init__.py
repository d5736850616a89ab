"""The export's home of each resource type: how it is read from the source
and made into a record.  One module per type, named after it
(``downpour/resources/<name>.py``), each with one ResourceType whose
``type`` is that name; the types and their order come from their
declarations (downpour.importer.definitions), never from a list here.
"""

import importlib
import inspect

from downpour.importer.definitions import ORDER
from downpour.resources.base import ResourceType


def _home(name):
    module = importlib.import_module('%s.%s' % (__name__, name))
    found = [cls for _, cls in inspect.getmembers(module, inspect.isclass)
             if issubclass(cls, ResourceType) and cls.type == name]
    if len(found) != 1:
        raise ImportError('%s must hold one ResourceType of type %r, not %d'
                          % (module.__name__, name, len(found)))
    return found[0]


TYPES = tuple(_home(definition.name) for definition in ORDER)
for _rtype, _definition in zip(TYPES, ORDER, strict=True):
    _rtype.definition = _definition
BY_TYPE = {rtype.type: rtype for rtype in TYPES}
# The resource type each resource-file section asks for.
BY_SECTION = {definition.section: BY_TYPE[definition.name]
              for definition in ORDER if definition.section}
