"""``downpour check``: the sample export against a fake target project
(tests/unit/importer/target.py), whose quotas the tests set; what fits, what
does not, the split, and that nothing but GET requests is made."""

import concurrent.futures
import json
import os
import types

import pytest
import requests
import yaml

from downpour import check, export, manifest, render
from downpour.cli import app
from downpour.cli import check as check_cli
from downpour.importer import Importer
from downpour.resourcefile import Entry, ResourceFile
from tests.unit.fakecloud import PROJECT_ID
from tests.unit.importer.target import Target
from tests.unit.resources import sample

ENTRIES = [Entry('servers', name='web-1', index=0),
           Entry('servers', name='web-2', save_state=False, index=1),
           Entry('volumes', name='spare', save_state=False, index=0)]


def _output_dir(fake_cloud, tmp_path):
    """What export writes for the sample, without its blobs."""
    sample.register(fake_cloud)
    records = export.Exporter(fake_cloud.connect(), 'resources.yml') \
        .resolve(ENTRIES)
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'playbook.yml').write_text(render.render_playbook(records))
    for record in records:
        if record.blob is not None:
            record.blob.size = 3 * 1024 * 1024
    manifest.write(records, str(out))
    export._keep_resource_file(ResourceFile('r.yml', {'x': ENTRIES}),
                               str(out))
    return out


def _quotas(fake_cloud, compute=None, volume=None, network=None):
    """The target project's quotas, as Nova, Cinder and Neutron report
    them to a member; Glance reports no image usage."""
    nova = {'instances': 10, 'cores': 20, 'ram': 51200, 'key_pairs': 100,
            'server_groups': 10, 'server_group_members': 10}
    nova.update(compute or {})
    used = {'instances': 1, 'cores': 1, 'ram': 512}
    fake_cloud.get('compute', '/os-quota-sets/%s/detail' % PROJECT_ID,
                   json={'quota_set': dict(
                       {k: {'limit': v, 'in_use': used.get(k, 0),
                            'reserved': 0} for k, v in nova.items()},
                       id=PROJECT_ID)})
    cinder = {'volumes': 10, 'gigabytes': 100, 'snapshots': 10,
              'volumes_fast': 1, 'gigabytes_fast': 5}
    cinder.update(volume or {})
    fake_cloud.get('block-storage', '/os-quota-sets/%s' % PROJECT_ID,
                   json={'quota_set': dict(
                       {k: {'limit': v, 'in_use': 0, 'reserved': 0}
                        for k, v in cinder.items()}, id=PROJECT_ID)})
    neutron = {'networks': 10, 'subnets': 10, 'ports': 50, 'routers': 10,
               'floating_ips': 10, 'security_groups': 10,
               'security_group_rules': 100}
    neutron.update(network or {})
    fake_cloud.get('network', '/v2.0/quotas/%s/details' % PROJECT_ID,
                   json={'quota': {k: {'limit': v, 'used': 0,
                                       'reserved': 0}
                                   for k, v in neutron.items()}})
    fake_cloud.get('image', '/v2/info/usage', json={'usage': {}})


def _rows(result):
    return {row[0]: row[1:] for row in result.rows}


def test_the_sample_fits_a_roomy_project_and_only_gets(fake_cloud,
                                                       tmp_path):
    out = _output_dir(fake_cloud, tmp_path)
    target = Target(fake_cloud)
    _quotas(fake_cloud)
    fake_cloud.mocker.reset_mock()

    _export, _look, _cost, result, _found = check.run_check(
        fake_cloud.connect(), str(out))

    assert result.fits, result.problems
    assert {r.method for r in fake_cloud.history} <= {'GET', 'POST'}
    assert [r.url for r in fake_cloud.history if r.method == 'POST'] == [
        'http://127.0.0.1:15000/v3/auth/tokens']
    assert target.writes() == []
    rows = _rows(result)
    # web-1 and web-2 on m1.small (1 vCPU, 2048 MiB); one instance and
    # 512 MiB already used.
    assert rows['instances'] == (2, 7, 'ok')
    assert rows['cores'] == (2, 17, 'ok')
    assert rows['RAM (MiB)'] == (4096, 51200 - 512 - 4096, 'ok')
    assert rows['key pairs'] == (1, 99, 'ok')
    assert rows['volumes'] == (2, 8, 'ok')
    assert rows['volume gigabytes'] == (3, 97, 'ok')
    # Two server ports, the keepalived VIP port their pairs name and the
    # router's interface.
    assert rows['ports'] == (4, 46, 'ok')
    assert rows['networks'] == (1, 9, 'ok')
    assert rows['routers'] == (1, 9, 'ok')
    # web only: the project's default group is the target's own.
    assert rows['security groups'] == (1, 9, 'ok')
    # web's four rules, and default's rule naming itself is there; its
    # egress rule too.
    assert rows['security group rules'] == (4, 96, 'ok')
    assert rows['images'] == (3, '', 'not reported')
    # web-1's capture, the image, web-data's bytes: 3 MiB each.
    assert rows['image storage (MiB)'] == (9, '', 'not reported')
    assert rows['flavor m1.small'] == ('', '', '-> m1.small (flavor-m1.small)')
    assert rows['external network public'] == (
        '', '', '-> public (%s)' % target.public['id'])


def test_a_short_quota_is_named_and_split_off(fake_cloud, tmp_path):
    out = _output_dir(fake_cloud, tmp_path)
    Target(fake_cloud)
    # One more instance fits; and 1 GiB of volumes: web-data, not spare.
    _quotas(fake_cloud, compute={'instances': 2},
            volume={'gigabytes': 1})

    exported, seen, cost, result, found = check.run_check(
        fake_cloud.connect(), str(out))

    assert not result.fits
    # In the order the types declare their quotas (definitions.QUOTAS).
    assert result.problems == [
        'volume gigabytes (needs 3, 1 free): not enough quota',
        'instances (needs 2, 1 free): not enough quota']
    assert _rows(result)['instances'] == (2, -1, 'SHORT by 1')
    fit, rest = check.write_split(exported, seen, cost, found)
    assert yaml.safe_load(open(fit)) == {'servers': [{'name': 'web-1'}]}
    assert yaml.safe_load(open(rest)) == {
        'servers': [{'name': 'web-2', 'save_state': False}],
        'volumes': [{'name': 'spare', 'save_state': False}]}


def test_a_missing_flavor_and_a_clash(fake_cloud, tmp_path):
    out = _output_dir(fake_cloud, tmp_path)
    target = Target(fake_cloud)
    _quotas(fake_cloud)
    for flavor in list(target.flavors):
        del target.flavors[flavor]
    theirs = target.add_network('app-net')

    exported, seen, cost, result, found = check.run_check(
        fake_cloud.connect(), str(out))

    assert result.problems == ['flavor m1.small is missing']
    rows = _rows(result)
    assert rows['flavor m1.small'][2].startswith('MISSING')
    clash = rows['name clash'][2]
    assert "network 'app-net'" in clash and theirs['id'] in clash
    # Neither server can go: both need the flavor; the spare volume can.
    fit, rest = check.split(exported, seen, cost, found,
                            ResourceFile.load(str(out / 'resources.yml')))
    assert [e.name for e in fit] == ['spare']
    assert [e.name for e in rest] == ['web-1', 'web-2']


def test_quota_rows():
    found = {'instances': check.Quota(-1, 3), 'cores': check.Quota(4, 3),
             'ram': check.Quota(1024, 0)}
    rows, short = check.quota_rows({'instances': 5, 'cores': 2, 'ram': 1024,
                                    'gigabytes_fast': 2}, found)
    by = {row[0]: row[1:] for row in rows}
    assert by['instances'] == (5, 'unlimited', 'ok')
    assert by['cores'] == (2, -1, 'SHORT by 1')
    assert by['RAM (MiB)'] == (1024, 0, 'ok')
    assert by['volumes'] == (0, '', 'not reported')
    assert by['volume gigabytes of type fast'] == (2, '', 'not reported')
    assert short == ['cores (needs 2, 1 free)']


def test_costs_follow_volume_types_and_server_groups():
    items = [
        {'type': 'volume_type', 'id': 'vt', 'name': 'fast'},
        {'type': 'volume', 'id': 'v1', 'name': 'a', 'size': 2,
         'volume_type': 'vt'},
        {'type': 'server_group', 'id': 'g', 'name': 'g'},
        {'type': 'server', 'id': 's1', 'name': 's1', 'server_group': 'g'},
        {'type': 'server', 'id': 's2', 'name': 's2', 'server_group': 'g'},
        {'type': 'floating_ip', 'id': 'f', 'name': '', 'port': 'p'},
    ]
    fast = types.SimpleNamespace(id='target-vt', name='fast')
    # What the look found: the volume type, and nothing else of these.
    importer = Importer(None, ids={'vt': 'target-vt'}, check_mode=True)
    importer.items = items
    listed = concurrent.futures.Future()
    listed.set_result([fast])
    importer._lists['volume_types'] = listed
    seen = check.Look(importer)
    exported = check.Export('out', items, {}, 'create', {})
    needed = check.total(check.costs(exported, seen))
    assert needed == {'volumes': 1, 'gigabytes': 2, 'volumes_fast': 1,
                      'gigabytes_fast': 2, 'server_groups': 1,
                      'server_group_members': 2, 'instances': 2,
                      'floating_ips': 1}


def test_closure_takes_routers_and_floating_ips_along():
    items = {i['id']: i for i in [
        {'type': 'network', 'id': 'n', 'name': 'n'},
        {'type': 'subnet', 'id': 'sn', 'name': 'sn', 'network': 'n'},
        {'type': 'router', 'id': 'r', 'name': 'r', 'interfaces': [
            {'subnet': 'sn', 'network': 'n'}]},
        {'type': 'port', 'id': 'p', 'name': '', 'network': 'n',
         'fixed_ips': [{'subnet': 'sn'}]},
        {'type': 'port', 'id': 'p2', 'name': '', 'network': 'n'},
        {'type': 'floating_ip', 'id': 'f', 'name': '', 'port': 'p'},
        {'type': 'keypair', 'id': 'k', 'name': 'k'},
        {'type': 'server', 'id': 's', 'name': 's', 'ports': ['p'],
         'key_name': 'k', 'description': 'n'},
    ]}
    assert check.closure(['s'], items) == {'s', 'p', 'n', 'sn', 'r', 'f',
                                           'k'}


def test_the_playbook_is_read_as_data(tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'playbook.yml').write_text(
        '- hosts: localhost\n'
        '  vars:\n'
        '    name_clash: stop\n'
        '    flavor_map: {"m1.small": "small"}\n'
        '    downpour_ids: "{{ x }}"\n'
        '    downpour_keypairs:\n'
        '      - type: keypair\n'
        '        id: !unsafe "{{ lookup(\'pipe\', \'id\') }}"\n'
        '        name: !unsafe "k"\n')
    exported = check.Export.load(str(out))
    assert exported.items == [{'type': 'keypair', 'name': 'k',
                               'id': "{{ lookup('pipe', 'id') }}"}]
    assert exported.name_clash == 'stop'
    assert exported.maps['flavor_map'] == {'m1.small': 'small'}


def test_a_directory_without_a_playbook(tmp_path):
    with pytest.raises(check.DownpourError, match='no such file'):
        check.Export.load(str(tmp_path))


def parse(*argv):
    command = check_cli.Check(app.DownpourApp([]), None)
    return command.get_parser('downpour check').parse_args(list(argv))


def test_parser():
    args = parse('out')
    assert (args.output_dir, args.fit) == ('out', False)
    args = parse('--fit', '-f', 'json', 'out')
    assert (args.output_dir, args.fit, args.formatter) == ('out', True,
                                                           'json')


def test_parser_needs_the_directory(capsys):
    with pytest.raises(SystemExit):
        parse('--fit')


def test_the_command_exits_1_naming_what_is_short(capsys, fake_cloud,
                                                  tmp_path, monkeypatch):
    from tests.unit import querycloud
    querycloud.make_clouds_yaml(tmp_path, monkeypatch)
    out = _output_dir(fake_cloud, tmp_path)
    Target(fake_cloud)
    _quotas(fake_cloud, network={'ports': 2})
    status = app.main(['--os-cloud', 'fake', 'check', '-f', 'json', '--fit',
                       str(out)])
    stdout, err = capsys.readouterr()
    assert status == 1
    assert 'ports (needs 4, 2 free): not enough quota' in err
    rows = {r['Check']: r for r in json.loads(stdout)}
    assert rows['ports']['Verdict'] == 'SHORT by 2'
    # web-1's port and the router's interface fit; web-2's port not.
    assert yaml.safe_load((out / 'fit.yml').read_text()) == {
        'servers': [{'name': 'web-1'}],
        'volumes': [{'name': 'spare', 'save_state': False}]}
    _quotas(fake_cloud)
    assert app.main(['--os-cloud', 'fake', 'check', str(out)]) == 0


def test_a_keypair_with_another_key_fails_the_check_and_the_rest_goes_on(
        fake_cloud, tmp_path):
    out = _output_dir(fake_cloud, tmp_path)
    target = Target(fake_cloud)
    _quotas(fake_cloud)
    target.add_keypair('app-key', 'ssh-ed25519 AAAAOTHER someone@else')

    _exported, _seen, _cost, result, _found = check.run_check(
        fake_cloud.connect(), str(out))

    assert not result.fits
    rows = _rows(result)
    assert rows['keypair'][2].startswith('FAILS: keypair ')
    assert 'another public key' in rows['keypair'][2]
    # The kinds after it were looked at all the same.
    assert rows['instances'] == (2, 7, 'ok')
    assert rows['security groups'] == (1, 9, 'ok')


def test_compute_limits_when_the_quota_set_is_not_shown(fake_cloud,
                                                        tmp_path):
    out = _output_dir(fake_cloud, tmp_path)
    Target(fake_cloud)
    _quotas(fake_cloud)
    # A cloud whose policy keeps quota sets from members: the limits,
    # which every member may read, say as much.
    fake_cloud.get('compute', '/os-quota-sets/%s/detail' % PROJECT_ID,
                   status_code=403, json={'forbidden': {
                       'code': 403, 'message': 'Policy does not allow'}})
    fake_cloud.get('compute', '/limits', json={'limits': {'rate': [],
                   'absolute': {
                       'maxTotalInstances': 3, 'totalInstancesUsed': 2,
                       'maxTotalCores': 8, 'totalCoresUsed': 2,
                       'maxTotalRAMSize': 8192, 'totalRAMUsed': 1024,
                       'maxServerGroups': 10, 'totalServerGroupsUsed': 0,
                       'maxServerGroupMembers': 10}}})

    _exported, _seen, _cost, result, _found = check.run_check(
        fake_cloud.connect(), str(out))

    rows = _rows(result)
    assert rows['instances'] == (2, -1, 'SHORT by 1')
    assert rows['cores'] == (2, 4, 'ok')
    assert rows['RAM (MiB)'] == (4096, 3072, 'ok')
    assert rows['key pairs'] == (1, '', 'not reported')
    assert result.problems == [
        'instances (needs 2, 1 free): not enough quota']


def test_nothing_fits(fake_cloud, tmp_path):
    out = _output_dir(fake_cloud, tmp_path)
    Target(fake_cloud)
    _quotas(fake_cloud, network={'ports': 0})

    exported, seen, cost, _result, found = check.run_check(
        fake_cloud.connect(), str(out))

    # Every server needs a port; the spare volume needs none.
    paths = check.write_split(exported, seen, cost, found)
    assert [os.path.basename(p) for p in paths] == ['fit.yml', 'rest.yml']
    _quotas(fake_cloud, network={'ports': 0}, volume={'volumes': 0})
    exported, seen, cost, _result, found = check.run_check(
        fake_cloud.connect(), str(out))
    paths = check.write_split(exported, seen, cost, found)
    assert [os.path.basename(p) for p in paths] == ['rest.yml']
    assert not (out / 'fit.yml').exists()
    assert yaml.safe_load((out / 'rest.yml').read_text()) == {
        'servers': [{'name': 'web-1'},
                    {'name': 'web-2', 'save_state': False}],
        'volumes': [{'name': 'spare', 'save_state': False}]}


def _with_maps(out, **maps):
    """The playbook as a user edits its vars: these maps set."""
    path = out / 'playbook.yml'
    text = path.read_text('utf-8')
    for name, value in maps.items():
        text = text.replace('    %s: {}\n' % name,
                            '    %s: %s\n' % (name, json.dumps(value)), 1)
    path.write_text(text, 'utf-8')


def test_check_follows_the_playbooks_volume_type_and_zone_maps(fake_cloud,
                                                              tmp_path):
    """check passes the import's maps to the import's look: a map entry
    naming what the target lacks stops check as it stops the import, and
    an entry naming what it has is the choice shown."""
    out = _output_dir(fake_cloud, tmp_path)
    Target(fake_cloud)
    _quotas(fake_cloud)
    _with_maps(out, volume_type_map={'__DEFAULT__': 'ssd'},
               az_map={'nova': 'nova'})

    _exported, seen, _cost, result, _found = check.run_check(
        fake_cloud.connect(), str(out))

    # What the import's look says with the same maps.
    importer = Importer(fake_cloud.connect(), check_mode=True,
                        volume_type_map={'__DEFAULT__': 'ssd'},
                        az_map={'nova': 'nova'})
    importer.run(check.Export.load(str(out)).items)
    assert importer.unmatched == [
        "volume type '__DEFAULT__': volume_type_map names 'ssd', which the "
        'target does not have']
    assert not result.fits
    assert 'volume type __DEFAULT__ is missing' in result.problems
    assert seen.choices == importer.choices
    assert "server availability zone 'nova' -> 'nova' (az_map)" in \
        seen.choices


# -- the states of the resources, and the exit status (issue 22, item 3) ----

REHEARSAL = '2026-11-30T21:00:05+00:00'
CUTOVER = '2026-12-07T22:10:41+00:00'


def _captured_output_dir(fake_cloud, tmp_path):
    """The sample's output directory, its captures taken at CUTOVER."""
    sample.register(fake_cloud)
    records = export.Exporter(fake_cloud.connect(), 'resources.yml') \
        .resolve(ENTRIES)
    for record in records:
        if record.blob is not None:
            record.blob.captured_at = CUTOVER
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'playbook.yml').write_text(render.render_playbook(records))
    return out


def _check(capsys, out, cloud='fake'):
    status = app.main(['--os-cloud', cloud, 'check', '-f', 'json',
                       str(out)])
    stdout, err = capsys.readouterr()
    listed = json.loads(stdout) if stdout else []
    rows = {r['Check']: r for r in listed}
    # Each resource's state (names may repeat: a list).
    rows['states'] = [r['Verdict'].split(':')[0] for r in listed
                      if r['Verdict'].split(':')[0] in check.STATES]
    return status, rows, err


def test_check_says_what_each_resource_is_and_exits_1_on_stale_or_clash(
        capsys, fake_cloud, tmp_path, monkeypatch):
    from tests.unit import querycloud
    querycloud.make_clouds_yaml(tmp_path, monkeypatch)
    out = _captured_output_dir(fake_cloud, tmp_path)
    target = Target(fake_cloud)
    _quotas(fake_cloud)

    status, rows, err = _check(capsys, out)

    assert status == 0, err
    made = rows['states'].count('new')
    # The target's own default group: the source's default goes into it.
    found, = [k for k, r in rows.items() if k != 'states'
              and r['Verdict'].startswith('already imported')]
    assert found == 'security group default'
    assert rows['states'].count('already imported') == 1
    assert rows['resources']['Verdict'] == (
        '%d new, 1 already imported, 0 stale, 0 clash' % made)
    assert rows['resources']['Needed'] == made + 1
    assert rows['volume web-data']['Verdict'] == 'new'

    # An earlier run made the data volume from an older capture, and the
    # spare one; the target has a network of the export's name.
    items = {i['name']: i for i in check.Export.load(str(out)).items
             if i['type'] == 'volume'}
    assert items['web-data']['captured_at'] == CUTOVER
    journal = dr_journal(out)
    data = target.add_volume('web-data')
    journal.record(dict(items['web-data'], captured_at=REHEARSAL),
                   data['id'], 'created')
    spare = target.add_volume('spare')
    journal.record(items['spare'], spare['id'], 'created')
    theirs = target.add_network('app-net')
    target.mark()

    status, rows, err = _check(capsys, out)

    assert status == 1
    assert rows['volume web-data']['Verdict'] == (
        "stale: volume 'web-data' (source ID %s): %s was made from the "
        'capture taken at %s; the export holds one taken at %s' % (
            items['web-data']['id'], data['id'], REHEARSAL, CUTOVER))
    assert rows['volume spare']['Verdict'] == 'already imported: ' + \
        spare['id']
    assert rows['network app-net']['Verdict'].startswith(
        "clash: network 'app-net'")
    assert theirs['id'] in rows['network app-net']['Verdict']
    assert rows['resources']['Verdict'] == (
        '%d new, 2 already imported, 1 stale, 1 clash' % (made - 3))
    assert 'stale: volume' in err and 'replace_stale=true' in err
    assert target.writes() == []
    marks = yaml.safe_load((out / 'check.yml').read_text())
    assert marks['stale'] == [items['web-data']['id']]

    # The clash alone: still 1.
    journal.record(items['web-data'], data['id'], 'created')
    status, rows, err = _check(capsys, out)
    assert status == 1
    assert rows['volume web-data']['Verdict'].startswith('already imported')
    assert 'stale: ' not in err and '0 stale, 1 clash' in err


def dr_journal(out):
    from downpour.importer import Journal
    return Journal(str(out / 'journal.csv'))


@pytest.mark.parametrize('case', ['no directory', 'unreachable', '401'])
def test_check_exits_2_when_it_cannot_run(capsys, fake_cloud, tmp_path,
                                          monkeypatch, requests_mock, case):
    from tests.unit import querycloud
    from tests.unit.fakecloud import AUTH_URL
    querycloud.make_clouds_yaml(tmp_path, monkeypatch)
    out = _captured_output_dir(fake_cloud, tmp_path)
    Target(fake_cloud)
    _quotas(fake_cloud)
    cloud = 'fake'
    if case == 'no directory':
        out = tmp_path / 'nowhere'
    elif case == 'unreachable':
        for url in (AUTH_URL, AUTH_URL + '/v3'):
            requests_mock.get(url, exc=requests.exceptions.ConnectionError(
                'Connection refused'))
    else:
        requests_mock.post(AUTH_URL + '/v3/auth/tokens', status_code=401,
                           json={'error': {'code': 401,
                                           'message': 'refused'}})

    status, rows, err = _check(capsys, out, cloud)

    assert status == 2, err
    assert rows == {'states': []}
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('downpour: error: '), err
    assert 'Traceback' not in err
    assert not (out / 'check.yml').exists()


# -- the project the export read (issue 22, item 2) ---------------------------

def _from_source(out, project_id=PROJECT_ID):
    """The manifest as export writes it when it read ``project_id``."""
    path = out / 'manifest.yml'
    data = yaml.safe_load(path.read_text())
    data['source'] = {'host': '127.0.0.1:15000', 'project_id': project_id,
                      'project_name': 'demo'}
    path.write_text(yaml.safe_dump(data))


def test_check_refuses_the_project_the_export_read_with_exit_2(
        capsys, fake_cloud, tmp_path, monkeypatch):
    from tests.unit import querycloud
    querycloud.make_clouds_yaml(tmp_path, monkeypatch)
    out = _output_dir(fake_cloud, tmp_path)
    _from_source(out)
    target = Target(fake_cloud)
    _quotas(fake_cloud)
    target.mark()

    status = app.main(['--os-cloud', 'fake', 'check', str(out)])

    stdout, err = capsys.readouterr()
    assert status == 2
    assert err.splitlines() == [
        'downpour: error: the target is the project the export read '
        '(project %s "demo" at 127.0.0.1:15000): refusing to check an '
        'import into the source; --allow-source-project to do it on '
        'purpose' % PROJECT_ID]
    assert stdout == ''
    # Not even looked at, and nothing written beside the playbook.
    assert target.calls() == []
    assert not (out / 'check.yml').exists()

    status = app.main(['--os-cloud', 'fake', 'check',
                       '--allow-source-project', str(out)])

    _stdout, err = capsys.readouterr()
    assert status == 0
    assert 'checking an import into it, as --allow-source-project asks' \
        in err
    assert target.calls('GET')


def test_check_runs_against_another_project_and_an_older_export(
        capsys, fake_cloud, tmp_path, monkeypatch):
    from tests.unit import querycloud
    querycloud.make_clouds_yaml(tmp_path, monkeypatch)
    out = _output_dir(fake_cloud, tmp_path)
    Target(fake_cloud)
    _quotas(fake_cloud)
    # An export by an older downpour records no source.
    path = out / 'manifest.yml'
    data = yaml.safe_load(path.read_text())
    del data['source']
    path.write_text(yaml.safe_dump(data))
    assert app.main(['--os-cloud', 'fake', 'check', str(out)]) == 0
    _from_source(out, project_id='0e0e0e0e0e0e4e0e8e0e0e0e0e0e0e0e')
    assert app.main(['--os-cloud', 'fake', 'check', str(out)]) == 0
    assert 'refusing' not in capsys.readouterr().err


def test_parser_takes_the_override():
    assert parse('out').allow_source_project is False
    assert parse('--allow-source-project', 'out').allow_source_project


def _secrets_output_dir(tmp_path):
    """An export of two secrets (payloads in the vault file) and a
    container of them."""
    from downpour.resources.base import Record
    blank = dict.fromkeys(('algorithm', 'bit_length', 'mode', 'expiration'))
    cert = Record(type='secret', old_id='5ec2e700-0000-4000-8000-000000000001',
                  name='cert', payload=b'x',
                  params=dict(blank, secret_type='certificate',
                              payload_content_type='text/plain'))
    key = Record(type='secret', old_id='5ec2e700-0000-4000-8000-000000000002',
                 name='key', payload=b'y',
                 params=dict(blank, secret_type='private',
                             payload_content_type='text/plain'))
    tls = Record(type='secret_container',
                 old_id='5ec2e700-0000-4000-8000-000000000003', name='tls',
                 params={'container_type': 'certificate'},
                 refs={'secret_refs': [{'name': 'certificate', 'secret': cert},
                                       {'name': 'private_key',
                                        'secret': key}]})
    out = tmp_path / 'out'
    out.mkdir()
    records = export.ordered([cert, key, tls])
    (out / 'playbook.yml').write_text(render.render_playbook(records))
    manifest.write(records, str(out))
    return out


def test_secrets_count_against_barbicans_quotas(fake_cloud, tmp_path):
    from tests.unit.barbican import FakeBarbican
    out = _secrets_output_dir(tmp_path)
    barbican = FakeBarbican(fake_cloud, quotas={
        'secrets': 2, 'containers': -1, 'orders': -1, 'consumers': -1,
        'cas': -1})
    barbican.add_secret('another application\'s', b'z', 'text/plain')
    _quotas(fake_cloud)
    _export, _look, _cost, result, _found = check.run_check(
        fake_cloud.connect(), str(out))
    rows = _rows(result)
    assert rows['secrets'] == (2, -1, 'SHORT by 1')
    assert rows['secret containers'] == (1, 'unlimited', 'ok')
    assert result.problems == ['secrets (needs 2, 1 free): not enough '
                               'quota']
    # Unlimited: the containers are listed by the look only, not counted.
    assert len([r for r in barbican.requests
                if r[:2] == ('GET', '/containers')]) == 1
    assert barbican.writes() == []


def test_barbicans_quotas_a_member_cannot_read_are_not_reported(
        fake_cloud, tmp_path, caplog):
    from tests.unit.barbican import FakeBarbican
    out = _secrets_output_dir(tmp_path)
    FakeBarbican(fake_cloud)  # answers 403 for the quotas
    _quotas(fake_cloud)
    _export, _look, _cost, result, _found = check.run_check(
        fake_cloud.connect(), str(out))
    rows = _rows(result)
    assert rows['secrets'] == (2, '', 'not reported')
    assert rows['secret containers'] == (1, '', 'not reported')
    assert result.fits
    assert 'the target does not report its key manager quotas' in \
        caplog.text


def test_an_export_without_secrets_does_not_ask_barbican(fake_cloud,
                                                         tmp_path):
    out = _output_dir(fake_cloud, tmp_path)
    Target(fake_cloud)
    _quotas(fake_cloud)
    _export, _look, _cost, result, _found = check.run_check(
        fake_cloud.connect(), str(out))
    rows = _rows(result)
    assert 'secrets' not in rows and 'secret containers' not in rows
    assert not [r for r in fake_cloud.history if ':19311' in r.url]
