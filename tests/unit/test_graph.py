"""``downpour graph``: the graph of an output directory (the golden sample
playbook), marks from check.yml, DOT that stays DOT whatever the names,
and rendering with Graphviz's dot (tools/run-tests and tools/localcloud
install bring it: these tests need it)."""

import os
import shutil
import subprocess
import sys

import pytest
import yaml

from downpour import graph
from downpour.cli import app
from downpour.errors import DownpourError
from tests.unit.test_render import HOSTILE

GOLDEN = os.path.join(os.path.dirname(__file__), 'golden',
                      'sample-playbook.yml')


@pytest.fixture
def out(tmp_path):
    directory = tmp_path / 'out'
    directory.mkdir()
    shutil.copy(GOLDEN, directory / 'playbook.yml')
    (directory / 'manifest.yml').write_text(yaml.safe_dump({'resources': [
        {'type': 'image', 'blob': 'blobs/77777777-7777-4777-8777-777777777777',
         'size': 3 * 1024 * 1024}]}))
    return directory


def _by_name(drawn):
    return {(n.type, n.name): n for n in drawn.nodes}


def test_an_output_directory(out):
    drawn = graph.from_output(str(out))
    nodes = _by_name(drawn)
    # Flavor, external network, volume type, two zones, keypair, network,
    # subnet, router, two groups, image, capture, two volumes, three
    # ports (the VIP among them), server group, two servers and the
    # floating IP.
    assert sorted(n.type for n in drawn.nodes) == sorted(
        ['flavor', 'external_network', 'volume_type', 'availability_zone',
         'availability_zone', 'keypair', 'network', 'subnet', 'router',
         'security_group', 'security_group', 'image', 'server_snapshot',
         'volume', 'volume', 'port', 'port', 'port', 'server_group',
         'server', 'server', 'floating_ip'])
    assert nodes[('image', 'cirros')].detail == '3.0 MiB'
    assert nodes[('volume', 'spare')].detail == '2 GiB'
    # Not in the manifest: no size is made up.
    assert nodes[('volume', 'web-data')].detail == '1 GiB'
    assert nodes[('subnet', 'app-subnet')].detail == '10.20.0.0/24'
    edges = {(a, b) for a, b in drawn.edges}
    key = {(n.type, n.name): n.key for n in drawn.nodes}
    server, net = key[('server', 'web-1')], key[('network', 'app-net')]
    subnet, router = key[('subnet', 'app-subnet')], key[('router',
                                                         'app-router')]
    # Along what moves: network -> subnet -> router, though the subnet
    # and the router are the ones that refer.
    assert (net, subnet) in edges and (subnet, router) in edges
    assert (server, key[('volume', 'web-data')]) in edges
    assert (server, key[('keypair', 'app-key')]) in edges
    port = [b for a, b in edges if a == server
            and b.startswith('aaaaaaaa')]
    assert len(port) == 1 and (port[0], net) in edges
    assert not any(b == server for _a, b in edges)


def test_marks_of_the_last_check(out):
    (out / 'check.yml').write_text(yaml.safe_dump({
        'missing': ['flavor_001'],
        'clash': ['22222222-2222-4222-8222-222222222222'],
        'not_fitting': ['88888888-8888-4888-8888-888888888882'],
        'stale': ['88888888-8888-4888-8888-888888888881']}))
    nodes = _by_name(graph.from_output(str(out)))
    assert nodes[('flavor', 'm1.small')].marks == ('missing',)
    assert nodes[('network', 'app-net')].marks == ('clash',)
    assert nodes[('server', 'web-2')].marks == ('not_fitting',)
    assert nodes[('server', 'web-1')].marks == ('stale',)
    text = graph.dot(graph.from_output(str(out)))
    assert 'server\\nweb-2\\ndoes not fit now", shape=box3d, ' \
        'color="gray50"' in text
    assert 'style="dashed"' in text
    assert 'name used in the target' in text
    assert 'missing in the target' in text
    assert 'server\\nweb-1\\nstale in the target", shape=box3d, ' \
        'color="purple"' in text


@pytest.mark.parametrize('name', HOSTILE)
def test_names_stay_inside_their_quotes(name):
    drawn = graph.Graph([graph.Node('a', 'server', name),
                         graph.Node('b', 'network', name + '"];x->y')],
                        [('a', 'b')])
    text = graph.dot(drawn)
    lines = text.splitlines()
    # One line per node and edge: nothing a name holds breaks out.
    assert len(lines) == 4 + 2 + 1 + 1
    for line in lines[4:6]:
        body = line.split('[label=', 1)[1]
        assert body.startswith('"')
        closing = _closing_quote(body)
        assert body[closing + 1:].startswith(', shape=')
    assert lines[6] == '  n1 -> n2;'


def _closing_quote(text):
    position = 1
    while True:
        char = text[position]
        if char == '\\':
            position += 2
            continue
        if char == '"':
            return position
        position += 1


def test_dot_renders_hostile_names():
    drawn = graph.Graph([graph.Node(str(n), 'server', name)
                         for n, name in enumerate(HOSTILE)], [])
    svg = graph.render(graph.dot(drawn), 'svg')
    assert svg.startswith(b'<?xml') and b'</svg>' in svg


def test_the_command_writes_svg_png_and_dot(out, tmp_path, capsys):
    assert app.main(['graph', str(out), '-o', str(tmp_path / 'g.svg')]) == 0
    assert b'<svg' in (tmp_path / 'g.svg').read_bytes()
    assert app.main(['graph', str(out), '-o', str(tmp_path / 'g.png')]) == 0
    assert (tmp_path / 'g.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert app.main(['graph', str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith('digraph downpour {')
    dot = subprocess.run(['dot', '-Tsvg'], input=text.encode(),
                         capture_output=True, check=False)
    assert dot.returncode == 0, dot.stderr


def test_output_format():
    assert graph.output_format(None) == 'dot'
    assert graph.output_format('x.SVG') == 'svg'
    assert graph.output_format('x.gv') == 'dot'
    assert graph.output_format('x', 'png') == 'png'
    with pytest.raises(DownpourError, match='ending in'):
        graph.output_format('x.pdf')


def test_without_dot(monkeypatch):
    monkeypatch.setattr(graph.shutil, 'which', lambda name: None)
    with pytest.raises(DownpourError, match='apt-get install graphviz'):
        graph.render('digraph {}', 'svg')


def test_nothing_there(tmp_path, capsys):
    assert app.main(['graph', str(tmp_path / 'nope')]) == 1
    assert 'no such file or directory' in capsys.readouterr().err


def test_a_resource_file_is_resolved_in_the_source(fake_cloud, tmp_path,
                                                   monkeypatch, capsys):
    from tests.unit import querycloud
    from tests.unit.resources import sample
    querycloud.make_clouds_yaml(tmp_path, monkeypatch)
    sample.register(fake_cloud)
    path = tmp_path / 'r.yml'
    path.write_text('servers:\n  - name: web-2\n    save_state: false\n')
    assert app.main(['--os-cloud', 'fake', 'graph', str(path)]) == 0
    text = capsys.readouterr().out
    for label in ('server\\nweb-2', 'network\\napp-net',
                  'subnet\\napp-subnet', 'router\\napp-router',
                  'security group\\nweb', 'image\\ncirros',
                  'flavor\\nm1.small\\n1 vCPU, 2048 MiB'):
        assert 'label="%s' % label in text, label
    assert 'web-1' not in text
    # Only looked: nothing captured or downloaded.
    assert {r.method for r in fake_cloud.history} <= {'GET', 'POST'}
    assert [r.path for r in fake_cloud.history if r.method == 'POST'] == [
        '/v3/auth/tokens']


@pytest.mark.parametrize('where', ['missing/g.svg', 'a-file/g.svg', '.',
                                   '/dev/full'])
def test_an_output_that_cannot_be_written_is_one_line(out, tmp_path, capsys,
                                                      where):
    (tmp_path / 'a-file').write_text('x')
    target = where if where.startswith('/') else str(tmp_path / where)
    status = app.main(['graph', str(out), '--format', 'dot', '-o', target])
    err = capsys.readouterr().err
    assert status == 1
    assert err.splitlines() == ['downpour: error: cannot write %s: %s' % (
        target, {'missing/g.svg': 'no such directory: %s' % (
                     tmp_path / 'missing'),
                 'a-file/g.svg': 'no such directory: %s' % (
                     tmp_path / 'a-file'),
                 '.': 'is a directory: give a file name',
                 '/dev/full': 'No space left on device'}[where])]


def test_a_bad_output_is_said_before_the_cloud_is_asked(fake_cloud, tmp_path,
                                                         monkeypatch, capsys):
    from tests.unit import querycloud
    querycloud.make_clouds_yaml(tmp_path, monkeypatch)
    path = tmp_path / 'r.yml'
    path.write_text('servers:\n  - name: web-2\n')
    target = str(tmp_path / 'missing' / 'g.svg')
    assert app.main(['--os-cloud', 'fake', 'graph', str(path),
                     '-o', target]) == 1
    assert 'cannot write %s' % target in capsys.readouterr().err
    assert fake_cloud.history == []


def test_png_goes_to_a_pipe_never_to_the_terminal(out, capsys, monkeypatch):
    monkeypatch.setattr(sys.stdout, 'isatty', lambda: True)
    assert app.main(['graph', str(out), '--format', 'png']) == 1
    captured = capsys.readouterr()
    assert captured.out == ''
    assert captured.err.splitlines() == [
        'downpour: error: a PNG is binary, not for the terminal: give '
        '-o FILE.png, or redirect the output']
    # SVG is text: the terminal may show it.
    assert app.main(['graph', str(out), '--format', 'svg']) == 0
    assert '<svg' in capsys.readouterr().out


def test_a_load_balancer_is_drawn_in_front_of_its_servers(lb_cloud):
    from downpour import export
    from downpour.resourcefile import Entry
    from tests.unit.resources import test_load_balancer as lbs
    lbs.register(lb_cloud)
    records = export.Exporter(lb_cloud.connect(), 'r.yml').resolve(
        [Entry('load_balancers', name='shop-lb')])
    drawn = graph.from_records(records)
    types = {n.key: n.type for n in drawn.nodes}
    edges = {(types[a], types[b]) for a, b in drawn.edges}
    # From the load balancer to its listener and pools, to the members,
    # to the servers they are: the arrows read from the front door in.
    assert {('load_balancer', 'pool'), ('listener', 'pool'),
            ('load_balancer', 'listener'), ('pool', 'member'),
            ('member', 'server'), ('member', 'port'),
            ('pool', 'health_monitor'), ('l7_policy', 'pool')} <= edges
    assert ('server', 'member') not in edges
    assert 'shape=invtrapezium' in graph.dot(drawn)
