"""The playbook's summary: the filter shipped in filter_plugins/, and the
files export writes so that Ansible has nothing to warn about."""

import importlib.util
import os
import subprocess
import sys

from downpour import ansiblefiles

_SPEC = importlib.util.spec_from_file_location('downpour_summary',
                                               ansiblefiles.SUMMARY)
summary = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(summary)

ITEMS = [
    {'type': 'flavor', 'id': 'flavor_001', 'name': 'm1.small'},
    {'type': 'network', 'id': 'n1', 'name': 'a', 'csv_type': 'network'},
    {'type': 'subnet', 'id': 's1', 'name': 'a', 'csv_type': 'subnet'},
    {'type': 'server', 'id': 'v1', 'name': 'web', 'csv_type': 'server'},
    {'type': 'server', 'id': 'v2', 'name': 'db', 'csv_type': 'server'},
]


def test_created_and_already_there_per_type(tmp_path):
    made = [{'changed': True, 'created': [
                {'type': 'network', 'name': 'a', 'old': 'n1', 'new': 'x'},
                {'type': 'subnet', 'name': 'a', 'old': 's1', 'new': 'y'}]},
            {'changed': True, 'created': [
                {'type': 'server', 'name': 'db', 'old': 'v2', 'new': 'z'}]}]
    lines = summary.downpour_summary(
        ITEMS, {'flavor_001': 'f', 'v1': 'w'}, made, str(tmp_path),
        str(tmp_path / 'uuids.csv'))
    assert lines == [
        '3 created, 2 already there',
        'flavor: 0 created, 1 already there',
        'network: 1 created, 0 already there',
        'subnet: 1 created, 0 already there',
        'server: 1 created, 1 already there',
        'uuids.csv (old ID -> new ID): %s/uuids.csv' % tmp_path,
        'journal.csv: %s/journal.csv' % tmp_path]


def test_a_run_with_nothing_to_do_and_an_address_table(tmp_path):
    (tmp_path / 'addresses.csv').write_text('x')
    found = {item['id']: 'new' for item in ITEMS}
    lines = summary.downpour_summary(
        ITEMS, found, [{'skipped': True}, {'skipped': True}],
        str(tmp_path), 'u.csv')
    assert lines[0] == '0 created, 5 already there'
    assert '2 of 2 tasks skipped: the check before the import found nothing ' \
        'for them to do' \
        in lines
    assert lines[-1] == ('addresses.csv (old address -> new address): %s'
                         % (tmp_path / 'addresses.csv'))


def test_the_one_task_skipped_is_said_plainly(tmp_path):
    found = {item['id']: 'new' for item in ITEMS}
    lines = summary.downpour_summary(ITEMS, found, [{'skipped': True}],
                                     str(tmp_path), 'u.csv')
    assert lines[0] == '0 created, 5 already there'
    assert 'nothing to make: the check before the import found it all there' in lines
    assert not any('tasks skipped' in line for line in lines)


def test_no_inventory_warning(tmp_path):
    """ansible-playbook in the output directory parses the shipped
    inventory: neither warning about the implicit localhost, and the play
    runs with Ansible's own Python."""
    ansiblefiles.write(str(tmp_path))
    (tmp_path / 'playbook.yml').write_text(
        '- hosts: localhost\n'
        '  connection: local\n'
        '  gather_facts: false\n'
        '  tasks:\n'
        '    - name: Say\n'
        '      ansible.builtin.debug:\n'
        '        msg: "{{ [] | downpour_summary({}, [], playbook_dir, '
        '\'u.csv\') }}"\n')
    tool = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('ANSIBLE_')}
    proc = subprocess.run(  # noqa: S603 - our own command
        [tool, 'playbook.yml'], cwd=tmp_path, env=env, capture_output=True,
        text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'WARNING' not in proc.stdout + proc.stderr
    assert '0 created, 0 already there' in proc.stdout


def test_what_stays_in_the_target_is_named_with_why(tmp_path):
    """A server's captured disk stays in the target as an image the new
    server was booted from: the summary names it, made now or before."""
    snapshot = {'type': 'server_snapshot', 'id': 'snapshot-v1',
                'name': 'web-snapshot', 'csv_type': 'server snapshot',
                'stays': 'the disk of server web (v1) as the export '
                         'copied it; the new server was booted from it'}
    made = [{'created': [{'type': 'server_snapshot', 'name': 'web-snapshot',
                          'old': 'snapshot-v1', 'new': 'img-1'}]}]
    for found, made_now in (({}, made), ({'snapshot-v1': 'img-1'}, [])):
        lines = summary.downpour_summary(ITEMS + [snapshot], found, made_now,
                                         str(tmp_path), 'u.csv')
        assert "left in the target: server snapshot 'web-snapshot' " \
            '(img-1), the disk of server web (v1) as the export copied ' \
            'it; the new server was booted from it' in lines
    # Not made (the run failed before it): nothing is said of it.
    lines = summary.downpour_summary(ITEMS + [snapshot], {}, [],
                                     str(tmp_path), 'u.csv')
    assert not [line for line in lines if line.startswith('left in')]


def test_what_was_replaced_from_a_newer_capture_is_said(tmp_path):
    made = [{'changed': True, 'created': [
        {'type': 'server', 'name': 'db', 'old': 'v2', 'new': 'z',
         'replaced': 'y', 'was_captured': '2026-11-30T21:00:05+00:00',
         'captured': '2026-12-07T22:10:41+00:00'},
        {'type': 'server', 'name': 'web', 'old': 'v1', 'new': 'w',
         'replaced': 'u', 'was_captured': '',
         'captured': '2026-12-07T22:10:41+00:00'}]}]
    lines = summary.downpour_summary(ITEMS, {}, made, str(tmp_path), 'u.csv')
    assert lines[0] == '2 created, 0 already there'
    assert "replaced, made from an older capture: server 'db' y (captured " \
        '2026-11-30T21:00:05+00:00) -> z (captured ' \
        '2026-12-07T22:10:41+00:00)' in lines
    assert "replaced, made from an older capture: server 'web' u (captured " \
        'at an unknown time) -> w (captured 2026-12-07T22:10:41+00:00)' \
        in lines
