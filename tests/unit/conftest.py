from tests.unit.fakecloud import fake_cloud, lb_cloud  # noqa: F401 (fixtures)
