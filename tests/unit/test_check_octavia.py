"""downpour check counts Octavia's quotas, with GET requests only: the
limits Octavia reports and the usage the project's own listings show; a
tenant whom Octavia's policy does not let read them is told so, and the
check goes on."""

import logging

from downpour import check
from tests.unit.fakecloud import PROJECT_ID
from tests.unit.importer.octavia import Octavia
from tests.unit.importer.target import Target
from tests.unit.test_check import _quotas


def test_octavia_quotas_and_what_the_project_uses(lb_cloud):
    octavia = Octavia(lb_cloud)
    lb = octavia.add_lb('in-use')
    octavia.pools['p'] = {'id': 'p', 'loadbalancer_id': lb['id'],
                          'project_id': PROJECT_ID}
    octavia.members.update({m: {'id': m, 'pool_id': 'p',
                                'project_id': PROJECT_ID}
                            for m in ('m1', 'm2')})
    lb_cloud.mocker.reset_mock()

    found = check._octavia_quotas(lb_cloud.connect(), PROJECT_ID)

    assert found['octavia_load_balancer'] == check.Quota(10, 1)
    assert found['octavia_member'].free() == 3
    assert found['octavia_pool'].free() is None  # -1: unlimited
    assert {r.method for r in lb_cloud.history} == {'GET', 'POST'}


def test_a_member_who_may_not_read_them_is_told(lb_cloud, caplog):
    Target(lb_cloud)
    _quotas(lb_cloud)
    lb_cloud.get('load-balancer', '/lbaas/quotas/%s' % PROJECT_ID,
                 status_code=403, json={'faultstring': 'Policy does not '
                                        'allow this request'})
    with caplog.at_level(logging.WARNING):
        found = check.quotas(lb_cloud.connect(),
                             {'octavia_load_balancer': 1})
    assert 'instances' in found
    assert not any(key.startswith('octavia_') for key in found)
    assert 'the target does not report its load balancer quotas' in \
        caplog.text


def test_a_cloud_without_octavia_is_not_asked(fake_cloud):
    assert check._octavia_quotas(fake_cloud.connect(), PROJECT_ID) == {}
    assert not any('lbaas' in r.url for r in fake_cloud.history)


def test_an_export_without_load_balancers_leaves_octavia_alone(lb_cloud,
                                                               tmp_path):
    from tests.unit.test_check import _output_dir
    out = _output_dir(lb_cloud, tmp_path)
    Target(lb_cloud)
    _quotas(lb_cloud)
    Octavia(lb_cloud)
    lb_cloud.mocker.reset_mock()

    _export, _look, _cost, result, found = check.run_check(
        lb_cloud.connect(), str(out))

    assert not any('lbaas' in r.url for r in lb_cloud.history)
    assert not [row for row in result.rows if 'load balancer' in row[0]]
    assert result.fits, result.problems


def test_the_load_balancers_to_make_are_counted_against_octavia(lb_cloud):
    _quotas(lb_cloud)
    octavia = Octavia(lb_cloud)
    octavia.quota['member'] = 1
    conn = lb_cloud.connect()
    needed = {'octavia_load_balancer': 1, 'octavia_member': 2}
    rows, short = check.quota_rows(needed, check.quotas(conn, needed))
    rows = {row[0]: row[1:] for row in rows}
    assert rows['load balancers'] == (1, 9, 'ok')
    assert rows['load balancer members'] == (2, -1, 'SHORT by 1')
    assert short == ['load balancer members (needs 2, 1 free)']
