"""The resource file: loading, checking, adding and saving entries."""

import os
import stat
import textwrap

import hypothesis
import pytest
import yaml
from hypothesis import strategies as st

from downpour import resourcefile
from downpour.errors import ResourceFileError
from downpour.importer import definitions
from downpour.resourcefile import SECTIONS, Entry, ResourceFile


def write(tmp_path, text, name='resources.yml'):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding='utf-8')
    return str(path)


def load_error(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(ResourceFileError) as info:
        ResourceFile.load(path)
    message = str(info.value)
    assert '\n' not in message
    assert message.startswith(path + ': ')
    return message[len(path) + 2:]


# -- loading a good file ----------------------------------------------------

def test_load_the_documented_example(tmp_path):
    path = write(tmp_path, """\
        # Resource file for downpour using the instance created in tiny.yml.
        servers:
          - name: downpour-demo-tiny
            # Create the server using a separate key than
            # it was created with in tiny.yml.
            key_name: downpour-demo2
        keypairs:
          - name: downpour-demo
          - name: downpour-demo2
        images:
          - name: cirros-0.3.5-x86_64-disk
        volumes:
          - name: downpour-demo-unattached
            save_state: false
        """)
    rf = ResourceFile.load(path)
    assert rf.path == path
    [server] = rf.entries('servers')
    assert server == Entry('servers', name='downpour-demo-tiny',
                           key_name='downpour-demo2', index=0)
    assert server.wants_state is True
    assert [e.name for e in rf.entries('keypairs')] == [
        'downpour-demo', 'downpour-demo2']
    assert rf.entries('keypairs')[1].index == 1
    [volume] = rf.entries('volumes')
    assert volume.save_state is False
    assert volume.wants_state is False
    assert rf.entries('networks') == []
    assert rf.entries('security_groups') == []


def test_every_section_is_known(tmp_path):
    path = write(tmp_path, ''.join(
        '%s:\n  - name: x-%s\n' % (s, s) for s in SECTIONS
        if s != 'floating_ips') + 'floating_ips:\n  - address: 192.0.2.7\n')
    rf = ResourceFile.load(path)
    for section in SECTIONS:
        if section == 'floating_ips':
            assert [e.address for e in rf.entries(section)] == ['192.0.2.7']
        else:
            assert [e.name for e in rf.entries(section)] == ['x-' + section]


def test_the_sections_are_the_declared_types_sections():
    assert SECTIONS == tuple(t.section for t in definitions.ORDER
                             if t.section)
    assert resourcefile.STATEFUL_SECTIONS == tuple(
        t.section for t in definitions.ORDER
        if t.section and 'save_state' in t.options)


@pytest.mark.parametrize('rtype', list(definitions.BY_SECTION.values()),
                         ids=lambda t: t.name)
def test_each_section_takes_its_declared_keys(tmp_path, rtype):
    """What names an entry, its id and the type's options, in that order;
    anything else is refused."""
    value = {'name': 'x', 'address': '192.0.2.7'}[rtype.named_by]
    entry = {rtype.named_by: value, 'id': 'i-1'}
    entry.update((option, True if option == 'save_state' else 'k')
                 for option in rtype.options)
    path = write(tmp_path, yaml.safe_dump({rtype.section: [entry]},
                                          sort_keys=True))
    [loaded] = ResourceFile.load(path).entries(rtype.section)
    assert list(loaded.as_dict()) == [rtype.named_by, 'id',
                                      *rtype.options]
    assert load_error(tmp_path, '%s:\n  - {}\n' % rtype.section) == (
        '%s[0]: give %s %s or an id' % (
            rtype.section, 'an' if rtype.named_by == 'address' else 'a',
            rtype.named_by))
    others = {o for t in definitions.ORDER for o in t.options
              if o not in rtype.options}
    for option in others:
        message = load_error(tmp_path, '%s:\n  - id: i-1\n    %s: k\n'
                             % (rtype.section, option))
        assert '%s only applies to ' % option in message


def test_empty_file_and_empty_sections(tmp_path):
    assert all(ResourceFile.load(write(tmp_path, '')).entries(s) == []
               for s in SECTIONS)
    rf = ResourceFile.load(write(tmp_path, 'servers:\nvolumes: []\n'))
    assert rf.entries('servers') == [] and rf.entries('volumes') == []


def test_entry_by_id_and_by_both(tmp_path):
    rf = ResourceFile.load(write(tmp_path, """\
        servers:
          - id: 0d3c4f5e-aaaa-bbbb-cccc-000000000001
          - name: web
            id: 0d3c4f5e-aaaa-bbbb-cccc-000000000002
        """))
    first, second = rf.entries('servers')
    assert first.name is None
    assert first.id.endswith('0001')
    assert first.describe() == (
        "servers[0] (id '0d3c4f5e-aaaa-bbbb-cccc-000000000001')")
    assert second.describe() == "servers[1] (name 'web')"


def test_wants_state_defaults():
    assert Entry('servers', name='a').wants_state is True
    assert Entry('volumes', name='a').wants_state is True
    assert Entry('volumes', name='a', save_state=False).wants_state is False
    assert Entry('images', name='a').wants_state is False


def test_missing_file(tmp_path):
    path = str(tmp_path / 'nope.yml')
    with pytest.raises(ResourceFileError, match='nope.yml: no such file'):
        ResourceFile.load(path)
    rf = ResourceFile.load(path, missing_ok=True)
    assert rf.entries('servers') == []
    assert not os.path.exists(path)


def test_not_utf8(tmp_path):
    path = tmp_path / 'r.yml'
    path.write_bytes(b'servers:\n  - name: caf\xe9\n')
    with pytest.raises(ResourceFileError, match='r.yml: not UTF-8'):
        ResourceFile.load(str(path))


def test_a_directory(tmp_path):
    with pytest.raises(ResourceFileError, match='cannot read'):
        ResourceFile.load(str(tmp_path))


# -- each error names the file, the section and the entry ------------------

def test_bad_yaml_gives_line_and_column(tmp_path):
    message = load_error(tmp_path, """\
        servers:
          - name: web
           key_name: oops
        """)
    assert message.startswith('line 3, column')
    assert 'invalid YAML' in message


def test_python_tags_are_refused(tmp_path):
    message = load_error(tmp_path, """\
        servers:
          - name: !!python/object/apply:os.system ['true']
        """)
    assert 'invalid YAML' in message


def test_several_documents(tmp_path):
    assert 'invalid YAML' in load_error(tmp_path, 'servers: []\n---\n{}\n')


def test_impossible_date(tmp_path):
    assert 'invalid YAML' in load_error(tmp_path, 'servers: 2001-02-30\n')


def test_top_level_not_a_mapping(tmp_path):
    message = load_error(tmp_path, '- name: web\n')
    assert message.startswith('the top level must be a mapping')


def test_unknown_section(tmp_path):
    message = load_error(tmp_path, 'server:\n  - name: web\n')
    assert message.startswith("unknown section 'server'")


def test_section_not_a_list(tmp_path):
    message = load_error(tmp_path, 'servers:\n  name: web\n')
    assert message == 'servers: must be a list of entries, not a mapping'


def test_entry_not_a_mapping(tmp_path):
    message = load_error(tmp_path, 'servers:\n  - name: a\n  - web\n')
    assert message.startswith('servers[1]: each entry must be a mapping')
    assert "'web'" in message


def test_unknown_key(tmp_path):
    message = load_error(tmp_path, 'servers:\n  - name: web\n    nmae: x\n')
    assert message.startswith("servers[0] (name 'web'): unknown key 'nmae'")


@pytest.mark.parametrize('text, expected', [
    ('servers:\n  - name: web\n    save_state: "no"\n',
     "servers[0] (name 'web'): save_state must be true or false, "
     "not a string ('no')"),
    ('servers:\n  - name: 1234\n',
     'servers[0]: name must be a string, not a number (1234) (quote it)'),
    ('volumes:\n  - name: v\n    id: 12\n',
     "volumes[0] (name 'v'): id must be a string, not a number (12)"
     " (quote it)"),
    ('servers:\n  - name: web\n    key_name: [a]\n',
     "servers[0] (name 'web'): key_name must be a string, not a list"
     " (quote it)"),
    ('servers:\n  - name: ""\n',
     'servers[0]: name must not be empty'),
    ('servers:\n  - name: yes\n',
     'servers[0]: name must be a string, not a boolean (true) (quote it)'),
])
def test_wrong_types(tmp_path, text, expected):
    assert load_error(tmp_path, text) == expected


def test_neither_name_nor_id(tmp_path):
    message = load_error(tmp_path, 'keypairs:\n  - name: a\n  - {}\n')
    assert message == 'keypairs[1]: give a name or an id'
    message = load_error(tmp_path, 'servers:\n  - key_name: k\n')
    assert message == 'servers[0]: give a name or an id'


def test_key_name_only_on_servers(tmp_path):
    message = load_error(tmp_path, 'volumes:\n  - name: v\n    key_name: k\n')
    assert message == "volumes[0] (name 'v'): key_name only applies to servers"


def test_save_state_only_on_servers_and_volumes(tmp_path):
    message = load_error(tmp_path, 'images:\n  - name: i\n    save_state: no\n')
    assert message == ("images[0] (name 'i'): save_state only applies to "
                       "volumes and servers")


def test_names_with_newlines_stay_on_one_line(tmp_path):
    message = load_error(tmp_path, 'servers:\n  - name: "a\\nb"\n    x: 1\n')
    assert message.startswith("servers[0] (name 'a\\nb'): unknown key 'x'")


# -- adding ------------------------------------------------------------------

def test_add_dedupes_by_id_then_by_name(tmp_path):
    rf = ResourceFile(str(tmp_path / 'r.yml'))
    assert rf.add(Entry('servers', name='web'))
    assert not rf.add(Entry('servers', name='web', save_state=False))
    assert rf.add(Entry('servers', name='db', id='1'))
    assert not rf.add(Entry('servers', name='other-name', id='1'))
    assert rf.add(Entry('servers', name='db', id='2'))
    # The same name in another section is another resource.
    assert rf.add(Entry('volumes', name='web'))
    assert [(e.name, e.id, e.index) for e in rf.entries('servers')] == [
        ('web', None, 0), ('db', '1', 1), ('db', '2', 2)]


def test_entries_is_a_copy(tmp_path):
    rf = ResourceFile(str(tmp_path / 'r.yml'))
    rf.entries('servers').append(Entry('servers', name='x'))
    assert rf.entries('servers') == []
    with pytest.raises(ValueError):
        rf.entries('flavors')


# -- saving --------------------------------------------------------------------

def test_save_new_file_writes_name_first_and_options_only_when_set(tmp_path):
    path = str(tmp_path / 'new.yml')
    rf = ResourceFile.load(path, missing_ok=True)
    rf.add(Entry('servers', id='u-1', name='web', save_state=False))
    rf.add(Entry('servers', name='db'))
    rf.add(Entry('images', name='cirros'))
    rf.save()
    with open(path, encoding='utf-8') as stream:
        text = stream.read()
    assert text == (
        'servers:\n'
        '- name: web\n'
        '  id: u-1\n'
        '  save_state: false\n'
        '- name: db\n'
        'images:\n'
        '- name: cirros\n')
    assert not [f for f in os.listdir(tmp_path) if f != 'new.yml']


def test_save_keeps_entries_options_and_comments(tmp_path):
    original = textwrap.dedent("""\
        # Resource file for downpour using the instance created in tiny.yml.
        servers:
          - name: downpour-demo-tiny
            # Create the server using a separate key than
            # it was created with in tiny.yml.
            key_name: downpour-demo2
            save_state: no
        keypairs:
          - name: downpour-demo   # the old key
        """)
    path = write(tmp_path, original)
    os.chmod(path, 0o640)
    rf = ResourceFile.load(path)
    assert rf.add(Entry('servers', name='yes'))
    assert rf.add(Entry('networks', name='{{ lookup("pipe", "id") }}'))
    rf.save()
    with open(path, encoding='utf-8') as stream:
        text = stream.read()
    assert text == original.replace(
        'keypairs:\n', '  - name: "yes"\nkeypairs:\n') + (
        'networks:\n  - name: "{{ lookup(\\"pipe\\", \\"id\\") }}"\n')
    again = ResourceFile.load(path)
    assert again.entries('servers')[0].save_state is False
    assert again.entries('servers')[0].key_name == 'downpour-demo2'
    assert again.entries('servers')[1].name == 'yes'
    assert again.entries('networks')[0].name == '{{ lookup("pipe", "id") }}'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_save_keeps_flush_sequence_style(tmp_path):
    path = write(tmp_path, 'servers:\n- name: a  # first\n')
    rf = ResourceFile.load(path)
    rf.add(Entry('servers', name='b'))
    rf.save()
    with open(path, encoding='utf-8') as stream:
        assert stream.read() == 'servers:\n- name: a  # first\n- name: "b"\n'


def test_save_falls_back_to_plain_yaml_when_file_changed(tmp_path):
    path = write(tmp_path, 'servers:\n  - name: a\n')
    rf = ResourceFile.load(path)
    rf.add(Entry('volumes', name='v'))
    # Someone rewrote the file meanwhile: our view wins, as a plain dump.
    write(tmp_path, 'servers:\n  - name: a\n  - name: b\n  - name: c\n')
    rf.save()
    assert ResourceFile.load(path).as_dict() == {
        'servers': [{'name': 'a'}], 'volumes': [{'name': 'v'}]}


@pytest.mark.parametrize('name', ['\x85', 'a\u2028b\u2029', 'caf\xe9'])
def test_line_separators_in_names_survive(tmp_path, name):
    path = str(tmp_path / 'r.yml')
    rf = ResourceFile(path)
    rf.add(Entry('volumes', name=name))
    rf.save()
    assert ResourceFile.load(path).entries('volumes')[0].name == name


def test_save_into_missing_directory_is_a_clear_error(tmp_path):
    rf = ResourceFile(str(tmp_path / 'no' / 'such' / 'r.yml'))
    rf.add(Entry('servers', name='a'))
    with pytest.raises(ResourceFileError, match='cannot write'):
        rf.save()


# -- properties ----------------------------------------------------------------

# Names YAML is known to trip on, and anything else.
tricky_names = st.sampled_from([
    '\x85', 'a\u2028b', 'yes', 'No', 'null', '~', '0o17', '1e3', '- x',
    '#c', 'a: b', ' lead', 'trail ', "it's", 'a\nb', '{{ x }}', '{% if %}',
    '\ufeffbom', '../../etc/passwd', '*', '&a', '!tag', '@', '`', '\t'])
names = tricky_names | st.text(min_size=1, max_size=40)
maybe_bool = st.none() | st.booleans()


@st.composite
def entries(draw):
    section = draw(st.sampled_from(SECTIONS))
    which = draw(st.sampled_from(['name', 'id', 'both']))
    name = draw(names) if which != 'id' else None
    id_ = draw(names) if which != 'name' else None
    kwargs = {}
    if section == 'floating_ips':
        # Named by an address instead.
        address = draw(st.ip_addresses()) if name is not None else None
        return Entry(section, id=id_,
                     address=None if address is None else str(address))
    if section in ('servers', 'volumes'):
        kwargs['save_state'] = draw(maybe_bool)
    if section == 'servers':
        kwargs['key_name'] = draw(st.none() | names)
    return Entry(section, name=name, id=id_, **kwargs)


@hypothesis.settings(max_examples=150, deadline=None,
                     suppress_health_check=[
                         hypothesis.HealthCheck.function_scoped_fixture])
@hypothesis.given(new=st.lists(entries(), max_size=8),
                  existing=st.lists(entries(), max_size=4))
def test_save_then_load_gives_the_same_entries(tmp_path, new, existing):
    path = str(tmp_path / 'prop.yml')
    if os.path.exists(path):
        os.unlink(path)
    # Some entries already in a file with comments, some added afterwards.
    start = ResourceFile(path)
    for entry in existing:
        start.add(entry)
    start.save()
    with open(path, 'a', encoding='utf-8') as stream:
        stream.write('# a comment the user wrote\n')
    rf = ResourceFile.load(path)
    for entry in new:
        rf.add(entry)
    rf.save()
    assert ResourceFile.load(path).as_dict() == rf.as_dict()


yaml_data = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(
        list(SECTIONS) + ['name', 'id', 'save_state', 'key_name', 'x']),
        children, max_size=4),
    max_leaves=20)


def _load_or_error(path):
    try:
        rf = ResourceFile.load(path)
    except ResourceFileError as exc:
        assert '\n' not in str(exc)
        return
    for section in SECTIONS:
        for entry in rf.entries(section):
            assert entry.name is not None or entry.id is not None


@hypothesis.settings(max_examples=300, deadline=None,
                     suppress_health_check=[
                         hypothesis.HealthCheck.function_scoped_fixture])
@hypothesis.given(data=yaml_data)
def test_any_yaml_data_loads_or_fails_cleanly(tmp_path, data):
    path = tmp_path / 'any.yml'
    path.write_text(yaml.safe_dump(data), encoding='utf-8')
    _load_or_error(str(path))


@hypothesis.settings(max_examples=300, deadline=None,
                     suppress_health_check=[
                         hypothesis.HealthCheck.function_scoped_fixture])
@hypothesis.given(text=st.text(max_size=200) | st.text(
    alphabet='servrs:-[]{}!&*|>\'"#%@` \n\tnameid', max_size=200))
def test_any_text_loads_or_fails_cleanly(tmp_path, text):
    path = tmp_path / 'any.yml'
    path.write_text(text, encoding='utf-8')
    _load_or_error(str(path))


def test_deep_nesting_fails_cleanly(tmp_path):
    path = write(tmp_path, 'servers: ' + '[' * 5000 + ']' * 5000 + '\n')
    with pytest.raises(ResourceFileError):
        ResourceFile.load(path)


def test_quote_is_one_line():
    assert resourcefile.quote('a\nb') == "'a\\nb'"
