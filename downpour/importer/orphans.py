"""What a hand edit of playbook.yml leaves behind.

The playbook is the user's to edit between the steps: an item taken out
is not imported.  What the export added only for that item (a server's
capture, its flavor, its group, a volume's type) would still be uploaded,
counted and drawn; it goes with the last item that refers to it.  Which
types are there only for others is declared (``Type.for_others``), which
item needs which is read from the items as their types declare it
(``Type.references``): the same for every type, with nothing per type
here.
"""

from . import definitions


def orphans(items):
    """The items no item kept refers to any more, of a type that is in an
    export only for others; in the order given.  Every other item is kept,
    and so is everything a kept item refers to, whatever its type."""
    by_key = {item['id']: item for item in items}
    kept, todo = set(), []
    for item in items:
        definition = definitions.BY_NAME.get(item['type'])
        if definition is None or not definition.for_others:
            todo.append(item['id'])
    while todo:
        key = todo.pop()
        if key in kept:
            continue
        kept.add(key)
        definition = definitions.BY_NAME.get(by_key[key]['type'])
        if definition is not None:
            todo.extend(k for k in definition.references(by_key[key])
                        if k in by_key)
    return [item for item in items if item['id'] not in kept]
