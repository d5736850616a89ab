import pytest

from tests.unit import querycloud


@pytest.fixture
def clouds_yaml(tmp_path, monkeypatch):
    return querycloud.make_clouds_yaml(tmp_path, monkeypatch)


@pytest.fixture
def cloud(fake_cloud):
    return querycloud.populate(fake_cloud)
