"""The engine's Pipeline: the overlapped work of one task."""

import threading
import time

import pytest

from downpour import importer as dr

WAIT = 10  # seconds: a bound for a test that would otherwise hang


def item(key, kind='volume'):
    return {'type': kind, 'id': key, 'name': key, 'csv_type': kind}


class Log:
    """What the jobs did, in order, from every thread."""

    def __init__(self):
        self.lines = []
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def job(self, name, until=None, fail=None, pause=0):
        def work():
            with self.lock:
                self.lines.append('start ' + name)
                self.running += 1
                self.most = max(self.most, self.running)
            try:
                time.sleep(pause)
                if until is not None:
                    assert until.wait(WAIT), name + ' waited in vain'
                if fail:
                    raise fail
            finally:
                with self.lock:
                    self.running -= 1
                    self.lines.append('end ' + name)
        return work


def test_a_server_starts_once_its_own_volume_is_made_not_every_volume():
    log = Log()
    slow_done = threading.Event()
    pipeline = dr.Pipeline(4)
    pipeline.add(item('slow'), (), log.job('slow', until=slow_done))
    pipeline.add(item('mine'), (), log.job('mine'))
    server = log.job('server')

    def server_then_release():
        server()
        slow_done.set()  # the slow volume ends only after the server ran

    pipeline.add(item('srv', 'server'), ('mine',), server_then_release)

    pipeline.run()

    lines = log.lines
    assert lines.index('end mine') < lines.index('start server')
    assert lines.index('start server') < lines.index('end slow')


def test_no_more_than_parallel_at_a_time():
    log = Log()
    pipeline = dr.Pipeline(3)
    for n in range(9):
        pipeline.add(item('v%d' % n), (), log.job('v%d' % n))
        # Long enough for the pool to fill.
        pipeline.add(item('w%d' % n), (), lambda: time.sleep(0.02))

    pipeline.run()

    assert log.most <= 3
    assert len([line for line in log.lines if line.startswith('end')]) == 9


def test_an_upload_does_not_wait_behind_the_network_lane():
    """One at a time per lane: the network's job, listed first, holds its
    lane until the upload listed after it has run in its own."""
    log = Log()
    uploaded = threading.Event()
    pipeline = dr.Pipeline(1)
    pipeline.add(item('net', 'network'), (),
                 log.job('net', until=uploaded), lane='network')
    pipeline.add(item('net2', 'network'), (), log.job('net2'),
                 lane='network')
    upload = log.job('img')

    def upload_then_release():
        upload()
        uploaded.set()

    pipeline.add(item('img', 'image'), (), upload_then_release, lane='image')

    pipeline.run()

    lines = log.lines
    assert lines.index('end img') < lines.index('end net')
    # The second network job waited for the first: its lane was full.
    assert lines.index('end net') < lines.index('start net2')


def test_no_more_than_parallel_at_a_time_in_each_lane():
    logs = {'network': Log(), 'image': Log(), 'compute': Log()}
    pipeline = dr.Pipeline(2)
    for n in range(8):
        for lane, log in logs.items():
            # Long enough for the lane to fill.
            pipeline.add(item('%s%d' % (lane, n), lane), (),
                         log.job('%s%d' % (lane, n), pause=0.01), lane=lane)

    pipeline.run()

    for lane, log in logs.items():
        assert log.most <= 2, lane
        assert len([line for line in log.lines
                    if line.startswith('end')]) == 8


def test_a_failure_stops_what_needs_it_and_nothing_else():
    log = Log()
    pipeline = dr.Pipeline(2)
    pipeline.add(item('bad'), (), log.job(
        'bad', fail=dr.ImportFailed('volume bad: went to error')))
    pipeline.add(item('good'), (), log.job('good'))
    pipeline.add(item('port', 'port'), (), log.job('port'))
    pipeline.add(item('srv1', 'server'), ('bad', 'port'), log.job('srv1'))
    pipeline.add(item('srv2', 'server'), ('good', 'port'), log.job('srv2'))

    with pytest.raises(dr.ImportFailed) as caught:
        pipeline.run()

    message = str(caught.value)
    assert 'volume bad: went to error' in message
    assert "server 'srv1' (source ID srv1): skipped, since volume 'bad' " \
        '(source ID bad) failed' in message
    assert 'start srv1' not in log.lines
    assert 'end srv2' in log.lines  # made all the same
    assert 'srv2' not in message


def test_a_failure_stops_a_chain_whatever_the_order_of_the_list():
    log = Log()
    pipeline = dr.Pipeline(2)
    # Listed before what they need.
    pipeline.add(item('c', 'server'), ('b',), log.job('c'))
    pipeline.add(item('b', 'port'), ('a',), log.job('b'))
    pipeline.add(item('a'), (), log.job(
        'a', fail=RuntimeError('quota exceeded')))

    with pytest.raises(dr.ImportFailed) as caught:
        pipeline.run()

    message = str(caught.value)
    assert "volume 'a' (source ID a): quota exceeded" in message
    assert "port 'b' (source ID b): skipped, since volume 'a'" in message
    assert "server 'c' (source ID c): skipped, since port 'b'" in message
    assert log.lines == ['start a', 'end a']


def test_needs_outside_the_task_are_there_already():
    log = Log()
    pipeline = dr.Pipeline(2)
    # The network and group were made by an earlier task.
    pipeline.add(item('p', 'port'), ('a-network', 'a-group'), log.job('p'))

    pipeline.run()

    assert log.lines == ['start p', 'end p']


def test_needs_that_form_a_cycle_are_named_not_waited_on_forever():
    pipeline = dr.Pipeline(2)
    pipeline.add(item('x'), ('y',), lambda: None)
    pipeline.add(item('y'), ('x',), lambda: None)

    with pytest.raises(dr.ImportFailed, match=r"volume 'x' \(source ID x\): "
                       'skipped, its dependencies form a cycle'):
        pipeline.run()
