"""The rendered playbook: untrusted values stay data, the structure is the
one the golden file shows, and Ansible accepts it.

Regenerate the golden files after a deliberate change with
``DOWNPOUR_REGEN_GOLDEN=1 python -m pytest tests/unit/test_render.py``
and review the diff.
"""

import os
import shutil
import subprocess
import sys

import pytest

from downpour import ansiblefiles, export, render
from downpour.resourcefile import Entry
from downpour.resources.base import Blob, Record
from tests.unit.playbook import all_tasks
from tests.unit.resources import sample

GOLDEN = os.path.join(os.path.dirname(__file__), 'golden')

HOSTILE = [
    "{{ lookup('pipe', 'touch /tmp/pwned') }}",
    '{% raw %}', '{%- endraw %}', '{# comment #}',
    'single \' quote', 'double " quote', 'both \'" quotes',
    'line\nbreak', 'cr\rlf\r\n', 'tab\there',
    'key: value', '# not a comment', '- not a list', '? not a key',
    '& anchor', '* alias', '!tag', '%directive', '@at', '`backtick`',
    '|', '>', '[flow]', '{flow: map}', ',comma',
    '/', '../..', '../../etc/passwd', '\\backslash\\',
    ' leading space', 'trailing space ', '   ',
    '', 'yes', 'no', 'on', 'off', 'true', 'False', 'null', '~', 'NULL',
    '0x10', '1e3', '010', '.inf', '-.nan', '1_000', '12:30:00',
    '2026-01-01', '=', '<<',
    'Zoë café naïve', 'שלום עולם', '\u202eevil\u202c', '💥🔥', 'e\u0301',
    'x' * 255, '\x00nul', '\x07bell\x1b[31m', '\x7fdel', '\x85nel',
    '\u2028line\u2029para', '\ufeffbom', '\ud7ff\ue000',
]


def _hostile_records(value):
    net = Record(type='network', old_id=sample.NET, name=value,
                 params={'is_admin_state_up': True, 'description': value})
    subnet = Record(type='subnet', old_id=sample.SUBNET, name=value,
                    params={'cidr': value, 'ip_version': 4,
                            'description': value, 'is_dhcp_enabled': True,
                            'gateway_ip': value, 'dns_nameservers': [value],
                            'host_routes': [{'destination': value,
                                             'nexthop': value}],
                            'allocation_pools': []},
                    refs={'network': net})
    flavor = Record(type='flavor', old_id=value, name=value,
                    params={'vcpus': 1, 'ram': 1, 'disk': 1})
    image = Record(type='image', old_id=sample.IMAGE, name=value,
                   params={'disk_format': value, 'container_format': 'bare',
                           'min_disk': 0, 'min_ram': 0,
                           'properties': {value: value}},
                   blob=Blob(kind='image', file_id=sample.IMAGE,
                             source_id=sample.IMAGE, what='x'))
    keypair = Record(type='keypair', old_id=value, name=value,
                     params={'public_key': value})
    port = Record(type='port', old_id=sample.PORT_1, name=value,
                  params={'description': value},
                  refs={'network': net, 'security_groups': [],
                        'fixed_ips': [{'subnet': subnet,
                                       'ip_address': value}]})
    server = Record(type='server', old_id=sample.SERVER_1, name=value,
                    params={'metadata': {value: value}, 'description': value,
                            'config_drive': False, 'key_name': value},
                    refs={'flavor': flavor, 'image': image,
                          'keypair': keypair, 'ports': [port],
                          'security_groups': [], 'volumes': []})
    return export.ordered([net, subnet, flavor, image, keypair, port,
                           server])


def _load(path):
    from ansible.parsing.dataloader import DataLoader
    return DataLoader().load_from_file(path, trusted_as_template=True)


def _task(play, name_start):
    return next(t for t in all_tasks(play)
                if t['name'].startswith(name_start))


def _item(play, key, rtype):
    """The one entry of type ``rtype`` in the play's list ``key``."""
    item, = [i for i in play['vars'][key] if i['type'] == rtype]
    return item


@pytest.mark.parametrize('value', HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_values_come_back_identical_and_untemplated(tmp_path,
                                                            value):
    from ansible.template import is_trusted_as_template
    path = tmp_path / 'playbook.yml'
    path.write_text(render.render_playbook(_hostile_records(value)),
                    encoding='utf-8')
    play, = _load(str(path))

    seen = []
    network = _item(play, 'downpour_networks', 'network')
    seen += [network['name'], network['attributes']['description']]
    subnet = _item(play, 'downpour_networks', 'subnet')
    attributes = subnet['attributes']
    seen += [subnet['name'], attributes['cidr'], attributes['description'],
             attributes['gateway_ip'], attributes['dns_nameservers'][0],
             attributes['host_routes'][0]['destination']]
    image = _item(play, 'downpour_images', 'image')
    (key, prop), = image['attributes']['properties'].items()
    seen += [image['name'], image['attributes']['disk_format'], key, prop]
    keypair = _item(play, 'downpour_keypairs', 'keypair')
    seen += [keypair['id'], keypair['name'], keypair['public_key']]
    server = _item(play, 'downpour_servers', 'server')
    (key, meta), = server['metadata'].items()
    seen += [server['name'], key, meta, server['description'],
             server['key_name']]
    port = _item(play, 'downpour_servers', 'port')
    seen += [port['name'], port['description'],
             port['fixed_ips'][0]['ip_address']]
    flavor, = play['vars']['downpour_flavors']
    seen += [flavor['name']]

    for got in seen:
        assert got == value
        assert type(got) is not str or not is_trusted_as_template(got) or (
            # Values Ansible would turn into booleans, numbers, ... under
            # !unsafe are written as quoted strings: they hold no template.
            not render._resolves_to_str(value) and '{' not in value)
        assert isinstance(got, str)


@pytest.mark.parametrize('value', HOSTILE, ids=range(len(HOSTILE)))
def test_the_source_project_is_carried_as_data(tmp_path, value):
    """The cloud and project the export read reach the import as the
    playbook's downpour_source, as they were, never templated; every
    task of the module is given it and the override."""
    from ansible.template import Templar, is_trusted_as_template
    source = {'host': value, 'project_id': value, 'project_name': value}
    path = tmp_path / 'playbook.yml'
    path.write_text(render.render_playbook(_hostile_records(value), source),
                    encoding='utf-8')
    play, = _load(str(path))

    got = play['vars']['downpour_source']
    assert got == source
    for text in got.values():
        assert isinstance(text, str)
        assert not is_trusted_as_template(text) or (
            not render._resolves_to_str(value) and '{' not in value)
        assert Templar(variables={}).template(text) == value
    assert play['vars']['allow_source_project'] is False
    modules = [t for t in all_tasks(play)
               if 'downpour.migrate.resources' in t]
    assert len(modules) == 2
    for task in modules:
        args = task['downpour.migrate.resources']
        assert args['source_project'] == '{{ downpour_source }}'
        assert args['allow_source_project'] == '{{ allow_source_project }}'


def test_untrusted_value_is_not_evaluated_by_ansible(tmp_path):
    from ansible.template import Templar
    value = "{{ lookup('pipe', 'echo pwned') }}"
    path = tmp_path / 'playbook.yml'
    path.write_text(render.render_playbook(_hostile_records(value)),
                    encoding='utf-8')
    play, = _load(str(path))
    name = _item(play, 'downpour_networks', 'network')['name']
    assert Templar(variables={}).template(name) == value


def test_yaml_unsafe_scalars_are_one_line():
    for value in HOSTILE:
        assert '\n' not in render.yaml_unsafe(value)
        assert render.yaml_unsafe(value).startswith(('!unsafe "', '"'))
    assert render.yaml_unsafe('{{ x }}').startswith('!unsafe "')
    assert render.yaml_unsafe('yes') == '"yes"'


def test_yaml_unsafe_keeps_numbers_and_flags_plain():
    assert render.yaml_unsafe(5) == '5'
    assert render.yaml_unsafe(True) == 'true'
    assert render.yaml_unsafe(None) == 'null'
    assert render.yaml_unsafe('5') == '"5"'
    assert render.yaml_unsafe('v5') == '!unsafe "v5"'


def _sample_export(fake_cloud):
    sample.register(fake_cloud)
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    return exporter.resolve([
        Entry('servers', name='web-1', index=0),
        Entry('servers', name='web-2', save_state=False, index=1),
        Entry('volumes', name='spare', save_state=False, index=0),
    ])


def test_playbook_matches_golden(fake_cloud):
    from downpour import cloud
    text = render.render_playbook(_sample_export(fake_cloud),
                                  cloud.identity(fake_cloud.connect()))
    golden = os.path.join(GOLDEN, 'sample-playbook.yml')
    if os.environ.get('DOWNPOUR_REGEN_GOLDEN'):
        with open(golden, 'w', encoding='utf-8') as stream:
            stream.write(text)
    with open(golden, encoding='utf-8') as stream:
        assert text == stream.read()


def _write(records, directory, source=None):
    """What an export writes for ansible-playbook: the playbook, and the
    collection and files it runs with."""
    render.write_playbook(records, str(directory), source)
    ansiblefiles.write(str(directory))


def _ansible_tool(name):
    local = os.path.join(os.path.dirname(sys.executable), name)
    return local if os.path.exists(local) else shutil.which(name)


def test_playbook_passes_syntax_check(fake_cloud, tmp_path):
    tool = _ansible_tool('ansible-playbook')
    if tool is None:
        pytest.skip('ansible-playbook is not installed')
    _write(_sample_export(fake_cloud), tmp_path)
    result = subprocess.run(  # noqa: S603
        [tool, '--syntax-check', str(tmp_path / 'playbook.yml')],
        capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hostile_playbook_passes_syntax_check(tmp_path):
    tool = _ansible_tool('ansible-playbook')
    if tool is None:
        pytest.skip('ansible-playbook is not installed')
    value = HOSTILE[0] + '\n' + HOSTILE[5]
    records = _hostile_records(value)
    _write(records, tmp_path, source={'host': value, 'project_id': value})
    result = subprocess.run(  # noqa: S603
        [tool, '--syntax-check', str(tmp_path / 'playbook.yml')],
        capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_playbook_passes_ansible_lint(fake_cloud, tmp_path):
    tool = _ansible_tool('ansible-lint')
    if tool is None:
        pytest.skip('ansible-lint is not installed')
    _write(_sample_export(fake_cloud), tmp_path)
    result = subprocess.run(  # noqa: S603
        [tool, '--offline', '--profile', 'production', '-p',
         'playbook.yml'],
        capture_output=True, text=True, check=False, cwd=tmp_path,
        timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def _twin_records():
    """Two of each type with the same name (and a unique one)."""
    records = []
    for n, old in enumerate((sample.SERVER_1, sample.SERVER_2)):
        net = Record(type='network', old_id=old.replace('8888', '2222', 1),
                     name='twin', params={'is_admin_state_up': True,
                                          'description': ''})
        group = Record(type='security_group',
                       old_id=old.replace('8888', '6666', 1), name='twin',
                       params={'description': ''},
                       info={'is_default': False},
                       refs={'rules': []})
        volume = Record(type='volume', old_id=old.replace('8888', '9999', 1),
                        name='twin',
                        params={'size': 1, 'description': '', 'metadata': {},
                                'is_bootable': False},
                        blob=Blob(kind='volume', file_id=old, source_id=old,
                                  what='v', hash_algo='sha512',
                                  hash_value='ab' * 64))
        image = Record(type='image', old_id=old.replace('8888', '7777', 1),
                       name='twin',
                       params={'disk_format': 'raw', 'container_format':
                               'bare', 'min_disk': 0, 'min_ram': 0,
                               'properties': {}},
                       blob=Blob(kind='image', file_id=old, source_id=old,
                                 what='i', hash_algo='md5',
                                 hash_value='%032d' % n))
        flavor = Record(type='flavor', old_id='f', name='f',
                        params={'vcpus': 1, 'ram': 1, 'disk': 1})
        port = Record(type='port', old_id=old.replace('8888', 'aaaa', 1),
                      name='twin', params={'description': ''},
                      refs={'network': net, 'fixed_ips': [],
                            'security_groups': [group]})
        server = Record(type='server', old_id=old, name='twin',
                        params={'metadata': {}, 'description': '',
                                'config_drive': False, 'key_name': None},
                        refs={'flavor': flavor, 'image': image,
                              'ports': [port], 'security_groups': [group],
                              'volumes': [volume]})
        records += [net, group, volume, image, flavor, port, server]
    records.append(Record(type='network', old_id=sample.NET, name='single',
                          params={'is_admin_state_up': True,
                                  'description': ''}))
    return export.ordered(records)


def test_repeated_names_are_listed_apart_and_referred_to_by_old_id(
        tmp_path):
    records = _twin_records()
    path = tmp_path / 'playbook.yml'
    path.write_text(render.render_playbook(records), encoding='utf-8')
    play, = _load(str(path))
    # Every type goes to downpour.migrate.resources, which works by old ID: each
    # twin is listed once, under its own name.
    for key, rtype in (('downpour_networks', 'network'),
                       ('downpour_security_groups', 'security_group'),
                       ('downpour_images', 'image'),
                       ('downpour_volumes', 'volume'),
                       ('downpour_servers', 'server')):
        listed = [(i['id'], i['name']) for i in play['vars'][key]
                  if i['type'] == rtype]
        assert sorted(listed) == sorted(
            (r.old_id, r.name) for r in records if r.type == rtype)
        assert [name for _, name in listed].count('twin') == 2
    # Each server names its own twin port, image and volume by old ID, and
    # its port its own network and group: never a name.
    items = {i['id']: i for i in play['vars']['downpour_servers']}
    for record in records:
        if record.type != 'server':
            continue
        server = items[record.old_id]
        port_record, = record.refs['ports']
        assert server['ports'] == [port_record.old_id]
        assert server['image'] == record.refs['image'].old_id
        assert server['volumes'] == [record.refs['volumes'][0].old_id]
        port = items[port_record.old_id]
        assert port['network'] == port_record.refs['network'].old_id
        assert port['security_groups'] == [
            port_record.refs['security_groups'][0].old_id]
    # No task finds anything by name: the only modules are ours, fail and
    # the summary's debug.
    modules = {key for task in all_tasks(play) for key in task
               if '.' in key}
    assert modules == {'downpour.migrate.resources', 'ansible.builtin.fail',
                       'ansible.builtin.debug'}


def test_uploads_carry_the_manifest_checksum(tmp_path):
    """Images and volume contents are checked by downpour.migrate.resources, which
    gets the manifest's checksum with each."""
    path = tmp_path / 'playbook.yml'
    path.write_text(render.render_playbook(_twin_records()),
                    encoding='utf-8')
    play, = _load(str(path))
    images = play['vars']['downpour_images']
    assert sorted((i['checksum']['algo'], i['checksum']['value'])
                  for i in images) == [('md5', '0' * 32),
                                       ('md5', '0' * 31 + '1')]
    volumes = play['vars']['downpour_volumes']
    assert [v['checksum'] for v in volumes] == [
        {'algo': 'sha512', 'value': 'ab' * 64}] * 2


def _syntax_check_and_lint(records, tmp_path):
    """ansible-playbook --syntax-check, then ansible-lint (where it is
    installed) on the playbook of ``records``."""
    tool = _ansible_tool('ansible-playbook')
    if tool is None:
        pytest.skip('ansible-playbook is not installed')
    _write(records, tmp_path)
    result = subprocess.run(  # noqa: S603
        [tool, '--syntax-check', str(tmp_path / 'playbook.yml')],
        capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lint = _ansible_tool('ansible-lint')
    if lint is None:
        return
    result = subprocess.run(  # noqa: S603
        [lint, '--offline', '--profile', 'production', '-p',
         'playbook.yml'],
        capture_output=True, text=True, check=False, cwd=tmp_path,
        timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_twin_playbook_passes_syntax_check_and_lint(tmp_path):
    _syntax_check_and_lint(_twin_records(), tmp_path)


@pytest.mark.parametrize('value', [HOSTILE[0], HOSTILE[7], 'x' * 255])
def test_network_and_router_descriptions_are_passed_on(tmp_path, value):
    """downpour.migrate.resources creates networks and routers with their
    description (openstack.cloud.network and .router had no option)."""
    from ansible.template import is_trusted_as_template
    net = Record(type='network', old_id=sample.NET, name='n',
                 params={'is_admin_state_up': True, 'description': value})
    router = Record(type='router', old_id=sample.ROUTER, name='r',
                    params={'is_admin_state_up': True, 'description': value},
                    refs={'interfaces': []})
    path = tmp_path / 'playbook.yml'
    path.write_text(render.render_playbook(
        export.ordered([net, router])), encoding='utf-8')
    play, = _load(str(path))
    for key, rtype in (('downpour_networks', 'network'),
                       ('downpour_routers', 'router')):
        description = _item(play, key, rtype)['attributes']['description']
        assert description == value
        assert not is_trusted_as_template(description)


@pytest.mark.parametrize('value', [HOSTILE[0], HOSTILE[7], HOSTILE[20],
                                   'yes', '010', '\u2028line\u2029para'])
def test_tags_pairs_macs_and_routes_stay_data(tmp_path, value):
    """What ports, routers, servers and images carry since issue 14 goes
    through yaml_unsafe like everything else from the source."""
    from ansible.template import is_trusted_as_template
    records = _hostile_records(value)
    by_type = {r.type: r for r in records}
    port = by_type['port']
    port.params.update(mac_address=value, port_security_enabled=True,
                       allowed_address_pairs=[{'ip_address': value,
                                               'mac_address': value}],
                       tags=[value])
    by_type['network'].params['tags'] = [value]
    by_type['subnet'].params['tags'] = [value]
    by_type['server'].params['tags'] = [value]
    by_type['image'].params['tags'] = [value]
    router = Record(type='router', old_id=sample.ROUTER, name=value,
                    params={'is_admin_state_up': True, 'description': value,
                            'tags': [value],
                            'routes': [{'destination': value,
                                        'nexthop': value}]},
                    refs={'interfaces': []})
    path = tmp_path / 'playbook.yml'
    path.write_text(render.render_playbook(export.ordered(
        records + [router])), encoding='utf-8')
    play, = _load(str(path))

    port = _item(play, 'downpour_servers', 'port')
    pair, = port['allowed_address_pairs']
    router = _item(play, 'downpour_routers', 'router')
    route, = router['routes']
    seen = [port['mac_address'], pair['ip_address'], pair['mac_address'],
            port['tags'][0], route['destination'], route['nexthop'],
            router['tags'][0],
            _item(play, 'downpour_networks', 'network')['tags'][0],
            _item(play, 'downpour_networks', 'subnet')['tags'][0],
            _item(play, 'downpour_servers', 'server')['tags'][0],
            _item(play, 'downpour_images', 'image')['attributes']['tags'][0]]
    for got in seen:
        assert got == value
        assert isinstance(got, str)
        assert not is_trusted_as_template(got) or (
            not render._resolves_to_str(value) and '{' not in value)
    assert port['port_security_enabled'] is True


def test_captures_carry_when_they_were_taken(fake_cloud, tmp_path):
    """A server's and a volume's capture times go with the items made from
    them (the server's disk image, the server, the volume): the import
    records them and compares them at the next export (issue 22)."""
    records = _sample_export(fake_cloud)
    when = {}
    for n, record in enumerate(records):
        if record.blob is not None:
            record.blob.captured_at = '2026-12-07T22:10:%02d+00:00' % n
            when[record.old_id] = record.blob.captured_at
    path = tmp_path / 'playbook.yml'
    path.write_text(render.render_playbook(records), encoding='utf-8')
    play, = _load(str(path))
    items = [i for key, value in play['vars'].items()
             if key.startswith('downpour_') and isinstance(value, list)
             for i in value]
    carried = {i['type']: i.get('captured_at') for i in items
               if i.get('captured_at')}
    assert set(carried) == {'server_snapshot', 'volume', 'server'}
    image, = [i for i in items if i['type'] == 'image']
    assert 'captured_at' not in image  # an image's bytes are no capture
    web, = [i for i in items if i['type'] == 'server'
            and i.get('captured_at')]
    snapshot, = [i for i in items if i['type'] == 'server_snapshot']
    assert web['captured_at'] == snapshot['captured_at']
    assert web['image'] == snapshot['id']


def _secret_records():
    cert = Record(type='secret', old_id='5ec2e700-0000-4000-8000-000000000001',
                  name=HOSTILE[0], payload=b'payload',
                  params={'secret_type': HOSTILE[5], 'algorithm': None,
                          'bit_length': 2048, 'mode': None,
                          'expiration': '2030-01-01T00:00:00',
                          'payload_content_type': 'text/plain'})
    tls = Record(type='secret_container',
                 old_id='5ec2e700-0000-4000-8000-000000000003',
                 name=HOSTILE[7], params={'container_type': HOSTILE[20]},
                 refs={'secret_refs': [{'name': HOSTILE[0],
                                        'secret': cert}]})
    return export.ordered([cert, tls])


def test_a_playbook_with_secrets_passes_syntax_check_and_lint(tmp_path):
    # Its include_vars block and the module's secret_payloads too.
    _syntax_check_and_lint(_secret_records(), tmp_path)


def test_secrets_values_stay_data(tmp_path):
    from ansible.template import is_trusted_as_template
    path = tmp_path / 'playbook.yml'
    path.write_text(render.render_playbook(_secret_records()),
                    encoding='utf-8')
    play, = _load(str(path))
    secret = _item(play, 'downpour_secrets', 'secret')
    container = _item(play, 'downpour_secret_containers', 'secret_container')
    seen = [secret['name'], secret['secret_type'], container['name'],
            container['container_type'], container['secret_refs'][0]['name']]
    assert seen == [HOSTILE[0], HOSTILE[5], HOSTILE[7], HOSTILE[20],
                    HOSTILE[0]]
    assert not any(is_trusted_as_template(value) for value in seen)
    assert secret['bit_length'] == 2048
