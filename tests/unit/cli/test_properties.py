"""Property tests at the command line: whatever a resource file holds,
``downpour query`` and ``downpour export`` end with status 0, or with
status 1 and one error line on stderr, never a traceback."""

import hypothesis
import yaml
from hypothesis import strategies as st

from downpour.cli import app
from downpour.resourcefile import SECTIONS

SETTINGS = hypothesis.settings(
    max_examples=75, deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])

yaml_data = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20) | st.sampled_from(['web-1', 'db', 'app-net']),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(
        list(SECTIONS) + ['name', 'id', 'save_state', 'key_name', 'x']),
        children, max_size=4),
    max_leaves=20)
leaf = (st.none() | st.booleans() | st.integers() | st.text(max_size=20)
        | st.sampled_from(['web-1', 'web-2', 'db', 'app-net', 'spare']))
# Mostly well-formed models, so that the commands get as far as the cloud.
model = st.dictionaries(
    st.sampled_from(SECTIONS),
    st.lists(st.dictionaries(
        st.sampled_from(['name', 'id', 'save_state', 'key_name']), leaf,
        min_size=1), max_size=3) | yaml_data,
    max_size=4)
text = st.text(max_size=200) | st.text(
    alphabet='servrs:-[]{}!&*|>\'"#%@` \n\tnameid\\\x00\ufeff', max_size=200)


def _commands(path, out):
    return (['--os-cloud', 'fake', 'query', '--server-name', 'web-*',
             str(path)],
            ['--os-cloud', 'fake', 'export', str(path), str(out)])


def _check(capsys, argv):
    status = app.main(argv)
    _out, err = capsys.readouterr()
    hypothesis.event('%s: %s' % (argv[2], status if status != 1 else
                                 err.split(':', 3)[-1][:25]))
    assert 'Traceback' not in err
    assert status in (0, 1), (status, err)
    if status == 1:
        lines = err.splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith('downpour: error: '), err


@SETTINGS
@hypothesis.given(data=model | yaml_data)
def test_any_yaml_resource_file(capsys, clouds_yaml, cloud, tmp_path, data):
    path = tmp_path / 'resources.yml'
    for argv in _commands(path, tmp_path / 'out'):
        path.write_text(yaml.safe_dump(data), encoding='utf-8')
        _check(capsys, argv)


@SETTINGS
@hypothesis.given(content=text)
def test_any_text_resource_file(capsys, clouds_yaml, cloud, tmp_path,
                                content):
    path = tmp_path / 'resources.yml'
    for argv in _commands(path, tmp_path / 'out'):
        path.write_text(content, encoding='utf-8', errors='surrogatepass')
        _check(capsys, argv)
