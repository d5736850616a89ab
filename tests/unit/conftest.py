from tests.unit.fakecloud import fake_cloud  # noqa: F401  (fixture)
