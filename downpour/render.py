"""Render records into playbook.yml through the templates in templates/.

Everything that came from the source cloud reaches the playbook through
one filter, ``yaml_unsafe``: a double-quoted YAML scalar, written by PyYAML's
emitter so that every character YAML cannot carry raw is escaped, and
tagged ``!unsafe`` so that Ansible never templates it.
"""

import dataclasses
import os
import tempfile

import jinja2
import yaml

from downpour.resources import BY_TYPE

TEMPLATE_DIR = os.path.join(os.path.dirname(__file__), 'templates')
# The Ansible module the playbook makes the batched types with; copied to
# OUTPUT_DIR/library/, where Ansible looks beside the playbook.
MODULE = os.path.join(os.path.dirname(__file__), 'library',
                      'downpour_resources.py')
PLAYBOOK = 'playbook.yml'
REQUIREMENTS = 'requirements.yml'


@dataclasses.dataclass
class Batch:
    """One typed list of the playbook's vars."""
    key: str
    types: tuple
    items: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Task:
    """One task of the playbook, and the lists it makes."""
    key: str
    title: str
    lists: tuple
    types: tuple


# Found by the look, never created: the look takes these lists, no task.
CHOSEN = ('flavors', 'external_networks', 'volume_types',
          'availability_zones')
# The tasks after the look, each over several lists: one module process
# each (a process costs about a second before its first request).  One
# task makes everything: within it the independent work overlaps, each
# resource waiting only for those it needs (a subnet for its network, a
# server for its own image, volumes, ports and group), at most `parallel`
# at a time per service (the module's Pipeline), so that uploads run while
# Neutron makes the networks.  Each list comes with what the task does to
# it, for a title that names only the lists the export has.
TASKS = (
    ('create', (('keypairs', 'create', 'keypairs'),
                ('networks', 'create', 'networks'),
                ('routers', 'create', 'routers'),
                ('security_groups', 'create', 'security groups'),
                ('server_groups', 'create', 'server groups'),
                ('images', 'upload', 'images'),
                ('volumes', 'make', 'volumes'),
                ('servers', 'boot', 'servers'),
                ('floating_ips', 'allocate', 'floating IPs'))),
)
# Every list, in the order of the playbook's vars.
BATCHES = CHOSEN + tuple(key for _, lists in TASKS for key, _, _ in lists)
# No line folding: a folded double-quoted scalar is valid YAML but harder
# to read and to diff.
_NO_WRAP = 2 ** 31


def _quoted(text):
    out = yaml.safe_dump(text, default_style='"', allow_unicode=True,
                         width=_NO_WRAP, explicit_end=False)
    out = out.rstrip('\n')
    if out.endswith('\n...'):
        out = out[:-4].rstrip('\n')
    if '\n' in out:  # pragma: no cover - the emitter escapes line breaks
        raise ValueError('scalar spans lines: %r' % text)
    return out


_STR_TAG = 'tag:yaml.org,2002:str'


def _resolves_to_str(text):
    return yaml.resolver.Resolver().resolve(
        yaml.ScalarNode, text, (True, False)) == _STR_TAG


def yaml_unsafe(value):
    """A YAML flow node for ``value`` that Ansible takes as data only.

    Ansible (2.19) resolves an ``!unsafe`` scalar as if it were plain, even
    when it is quoted: ``!unsafe "yes"`` loads as True and ``!unsafe "010"``
    as 8.  Strings that would resolve to anything but a string (booleans,
    numbers, null, dates, ``<<``) hold no template syntax, so they are
    written as plain double-quoted strings, which Ansible keeps as strings.
    """
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return yaml.safe_dump(value).split('\n', 1)[0]
    if isinstance(value, dict):
        return '{' + ', '.join('%s: %s' % (yaml_unsafe(str(k)), yaml_unsafe(v))
                               for k, v in value.items()) + '}'
    if isinstance(value, (list, tuple)):
        return '[' + ', '.join(yaml_unsafe(v) for v in value) + ']'
    text = str(value)
    if not _resolves_to_str(text):
        return _quoted(text)
    return '!unsafe ' + _quoted(text)


def jinja_expr(expression):
    """A value that Ansible evaluates: only for expressions downpour wrote
    itself (variable names it chose), never for source data."""
    return '"{{ %s }}"' % expression


def ref(record):
    """The Jinja expression for a record's ID in the target: every
    reference is the ID the import created or chose, never a name."""
    if record.type == 'keypair':
        raise ValueError('a keypair is referred to by its name')
    return "downpour_ids['%s']" % BY_TYPE[record.type].item_id(record)


def environment():
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        # YAML, not HTML: escaping is yaml_unsafe's job.
        undefined=jinja2.StrictUndefined, autoescape=False,  # noqa: S701
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters['yaml_unsafe'] = yaml_unsafe
    env.filters['ref'] = lambda record: jinja_expr(ref(record))
    env.globals['ref_expr'] = ref
    env.globals['item_id'] = env.filters['item_id'] = \
        lambda record: BY_TYPE[record.type].item_id(record)
    env.globals['BY_TYPE'] = BY_TYPE
    env.globals['CLOUD'] = jinja_expr('cloud | default(omit)')
    env.globals['expr'] = jinja_expr
    return env


def _and(words):
    return ' and '.join([', '.join(words[:-1]), words[-1]] if len(words) > 1
                        else words)


def _title(lists):
    """'Create the networks and routers, upload the images and boot the
    servers': each verb once, for the nouns that follow it."""
    phrases = []
    for _, verb, noun in lists:
        if phrases and phrases[-1][0] == verb:
            phrases[-1][1].append(noun)
        else:
            phrases.append((verb, [noun]))
    title = _and(['%s the %s' % (verb, _and(nouns))
                  for verb, nouns in phrases])
    return title[0].upper() + title[1:]


def render_playbook(records):
    env = environment()
    batches = {key: Batch(key, tuple(sorted(
        rtype.type for rtype in BY_TYPE.values() if rtype.batch == key)))
        for key in BATCHES}
    for record in records:
        rtype = BY_TYPE[record.type]
        template = env.get_template('%s.yml.j2' % record.type)
        batches[rtype.batch].items.append(
            template.render(record=record, rtype=rtype))
    used = [batches[key] for key in BATCHES if batches[key].items]
    tasks = []
    for key, lists in TASKS:
        mine = [(batches[name], verb, noun) for name, verb, noun in lists
                if batches[name].items]
        if mine:
            tasks.append(Task(key, _title(mine),
                              tuple(b.key for b, _, _ in mine),
                              tuple(sorted(t for b, _, _ in mine
                                           for t in b.types))))
    needed = [r for r in records if r.type in ('flavor', 'external_network')]
    # Chosen too, but the target always has a default: only a map entry
    # can miss, and the look names it.
    defaulted = sorted({r.type for r in records
                        if r.type in ('volume_type', 'availability_zone')})
    return env.get_template('playbook.yml.j2').render(
        batches=used, tasks=tasks, needed_records=needed,
        defaulted=defaulted,
        has_floating_ips=any(r.type == 'floating_ip' for r in records),
        all_lists=' + '.join('downpour_' + b.key for b in used) or '[]')


def write_atomic(path, text):
    directory = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as stream:
            stream.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_playbook(records, output_dir):
    write_atomic(os.path.join(output_dir, PLAYBOOK), render_playbook(records))
    library = os.path.join(output_dir, 'library')
    os.makedirs(library, exist_ok=True)
    with open(MODULE, encoding='utf-8') as stream:
        write_atomic(os.path.join(library, os.path.basename(MODULE)),
                     stream.read())
    write_atomic(os.path.join(output_dir, REQUIREMENTS),
                 environment().get_template('requirements.yml.j2').render())
