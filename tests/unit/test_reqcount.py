"""tools/bench/reqcount: the benchmarks' request counter, in real processes.

The counter is only ever loaded by the benchmarks, through PYTHONPATH; a
wrong count would make every figure in doc/source/performance.rst wrong,
so it is checked here against a real HTTP server, in a child process
that inherits the environment exactly as an Ansible module process does.
"""

import http.server
import json
import os
import pathlib
import subprocess
import sys
import threading

import pytest

REQCOUNT = pathlib.Path(__file__).resolve().parents[2] / 'tools' / 'bench' / 'reqcount'


class _Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get('Content-Length') or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'{}')

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d' % httpd.server_address[1]
    httpd.shutdown()


CHILD = '''
import subprocess, sys
import requests
session = requests.Session()
session.get(URL + "/v2.0/networks/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0")
session.get(URL + "/v2.0/networks?name=x")
session.post(URL + "/v3/auth/tokens", json={})
# A grandchild, like a module process started by ansible-playbook.
subprocess.run([sys.executable, "-c",
                "import requests; requests.get(URL + '/v3')".replace("URL", repr(URL))],
               check=True)
'''


def test_counts_every_request_of_every_process(server, tmp_path):
    records = tmp_path / 'records'
    records.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REQCOUNT),
               DOWNPOUR_REQCOUNT_DIR=str(records))
    subprocess.run([sys.executable, '-c', 'URL = %r\n' % server + CHILD],
                   env=env, check=True, timeout=60)
    found = [json.loads(p.read_text()) for p in records.glob('*.json')]
    assert len(found) == 2
    pids = {record['pid'] for record in found}
    [grandchild] = [record for record in found if record['ppid'] in pids]
    [child] = [record for record in found if record is not grandchild]
    port = server.rsplit(':', 1)[1]
    assert child['requests'] == {
        'GET %s /v2.0/networks/{id}' % port: 1,
        'GET %s /v2.0/networks' % port: 1,
        'POST %s /v3/auth/tokens' % port: 1,
    }
    assert grandchild['requests'] == {'GET %s /v3' % port: 1}
    assert child['maxrss_kb'] > 1000
    assert child['end'] >= child['start']


def test_a_process_without_the_variable_writes_nothing(server, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REQCOUNT))
    env.pop('DOWNPOUR_REQCOUNT_DIR', None)
    subprocess.run([sys.executable, '-c', 'URL = %r\n' % server + CHILD],
                   env=env, check=True, timeout=60, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []
