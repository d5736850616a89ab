# Licensed under the Apache License, Version 2.0.
#
# Shipped by ``downpour export`` in OUTPUT_DIR/filter_plugins/, where
# Ansible finds it beside playbook.yml.  The playbook's last task prints
# what it returns: what the import created and found, per type, and where
# its files are.  A filter runs inside ansible-playbook: no module process.

import os


def _type(item):
    return item.get('csv_type') or str(item.get('type', '')).replace('_', ' ')


def downpour_summary(items, found_ids, made, playbook_dir, uuids_csv,
                     orphans=()):
    """Lines: per type, how many were created by this run and how many
    the target had already (this import's from an earlier run, a keypair
    reused, a flavor or external network chosen, a resource adopted); the
    tasks skipped because the check before the import found nothing for them; the files."""
    created = {}
    for result in made or []:
        if not isinstance(result, dict):
            continue
        for entry in result.get('created') or []:
            created[entry.get('old')] = entry
    found_ids = found_ids or {}
    rows = {}
    for item in items or []:
        if item.get('id') in (orphans or ()):
            continue
        kind = _type(item)
        row = rows.setdefault(kind, [0, 0])
        if item.get('id') in created:
            row[0] += 1
        elif item.get('id') in found_ids:
            row[1] += 1
    total_created = sum(r[0] for r in rows.values())
    total_found = sum(r[1] for r in rows.values())
    lines = ['%d created, %d already there' % (total_created, total_found)]
    for kind, (made_now, there) in rows.items():
        lines.append('%s: %d created, %d already there' % (kind, made_now,
                                                           there))
    skipped = sum(1 for result in made or []
                  if isinstance(result, dict) and result.get('skipped'))
    if skipped and len(made) == 1:
        lines.append('nothing to make: the check before the import found '
                     'it all there')
    elif skipped:
        lines.append('%d of %d tasks skipped: the check before the import '
                     'found nothing for them to do' % (skipped, len(made)))
    # What was made again from the export's newer capture (replace_stale):
    # the user must know that the old one is gone, and which it was.
    for entry in created.values():
        if entry.get('replaced'):
            lines.append('replaced, made from an older capture: %s %r %s '
                         '(captured %s) -> %s (captured %s)' % (
                             str(entry.get('type', '')).replace('_', ' '),
                             entry.get('name'), entry['replaced'],
                             entry.get('was_captured') or 'at an unknown '
                             'time', entry.get('new'),
                             entry.get('captured')))
    # Taken out with the items that needed them, by the hand edit.
    for item in items or []:
        if item.get('id') in (orphans or ()):
            lines.append('left out: %s %r, no item left in the playbook '
                         'refers to it' % (_type(item), item.get('name')))
    # What the import made that stays once the migration is done, and why,
    # so that a person who finds it knows what it is.
    for item in items or []:
        new = (created.get(item.get('id')) or {}).get('new') or \
            found_ids.get(item.get('id'))
        if item.get('stays') and new:
            lines.append('left in the target: %s %r (%s), %s' % (
                _type(item), item.get('name'), new, item['stays']))
    lines.append('uuids.csv (old ID -> new ID): %s' % uuids_csv)
    lines.append('journal.csv: %s' % os.path.join(playbook_dir,
                                                  'journal.csv'))
    addresses = os.path.join(playbook_dir, 'addresses.csv')
    if os.path.exists(addresses):
        lines.append('addresses.csv (old address -> new address): %s'
                     % addresses)
    return lines


class FilterModule:
    def filters(self):
        return {'downpour_summary': downpour_summary}
