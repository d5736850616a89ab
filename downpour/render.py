"""Render records into playbook.yml through the templates in templates/.

Everything that came from the source cloud reaches the playbook through
one filter, ``yaml_unsafe``: a double-quoted YAML scalar, written by PyYAML's
emitter so that every character YAML cannot carry raw is escaped, and
tagged ``!unsafe`` so that Ansible never templates it.
"""

import dataclasses
import os
import textwrap

import jinja2
import yaml

from downpour import __version__
from downpour.importer import definitions

# Replaced whole, readable by its owner only: as the import writes its
# files, one way.
from downpour.importer.files import write_private as write_atomic
from downpour.resources import BY_TYPE

TEMPLATE_DIR = os.path.join(os.path.dirname(__file__), 'templates')
PLAYBOOK = 'playbook.yml'
REQUIREMENTS = 'requirements.yml'
# What each file of the output directory is, for whoever finds it there.
README = 'README.txt'


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


# Every list, in the order of the playbook's vars: those the look only
# chooses from (never made), then those the task after the look makes.
BATCHES = definitions.LISTS
CHOSEN = tuple(dict.fromkeys(t.list for t in definitions.ORDER if t.chosen))
# The one task after the look makes everything: a module process costs
# about a second before its first request.  Within it the independent
# work overlaps, each resource waiting only for those it needs (a subnet
# for its network, a server for its own image, volumes, ports and group),
# at most `parallel` at a time per service (the engine's Pipeline), so
# that uploads run while Neutron makes the networks.  Its title names what
# it does to each list the export has, as the list's last type says: what
# the list is for comes after what it needs (a server after its ports).
TASKS = (('create', tuple(
    (key, last.verb, last.noun or key.replace('_', ' '))
    for key in BATCHES if key not in CHOSEN
    for last in [[t for t in definitions.ORDER if t.list == key][-1]])),)
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
    if not BY_TYPE[record.type].in_expressions:
        raise ValueError('a %s is referred to by its name' % record.type)
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


class UnsafeLoader(yaml.SafeLoader):
    """Reads a playbook (or an item of one): ``!unsafe`` marks data for
    Ansible, and is only data here too."""


def _unsafe(loader, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


UnsafeLoader.add_constructor('!unsafe', _unsafe)


def item(env, record):
    """The item the playbook lists for ``record``, read back as data."""
    text = env.get_template('%s.yml.j2' % record.type).render(
        record=record, rtype=BY_TYPE[record.type])
    # One entry of a list, indented; a SafeLoader that takes !unsafe as
    # data.
    return yaml.load(textwrap.dedent(text),
                     Loader=UnsafeLoader)[0]  # noqa: S506


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


def render_playbook(records, source=None):
    """``source``: the cloud and project the export read
    (cloud.identity), which the import refuses to import into."""
    env = environment()
    batches = {key: Batch(key, tuple(sorted(
        t.name for t in definitions.ORDER if t.list == key)))
        for key in BATCHES}
    for record in records:
        rtype = BY_TYPE[record.type]
        template = env.get_template('%s.yml.j2' % record.type)
        batches[rtype.definition.list].items.append(
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
    present = {r.type for r in records}
    chosen = [t for t in definitions.ORDER if t.chosen and t.name in present]
    # Those the play stops on when the target has none to match; the
    # others have the target's default, and only a map entry can miss.
    needed = [(record, BY_TYPE[record.type].missing_message(record))
              for record in records
              if definitions.BY_NAME[record.type].chosen
              and not definitions.BY_NAME[record.type].defaulted]
    return env.get_template('playbook.yml.j2').render(
        batches=used, tasks=tasks, needed=needed,
        maps=[t.map for t in chosen],
        defaulted=any(t.defaulted for t in chosen),
        about={t.list: textwrap.wrap(t.about, 70) for t in chosen},
        all_lists=' + '.join('downpour_' + b.key for b in used) or '[]',
        source=dict(source or {}),
        # Payloads to read from the vault file (vault.py).
        vaulted=any(r.payload is not None for r in records))


def write_playbook(records, output_dir, source=None):
    write_atomic(os.path.join(output_dir, PLAYBOOK),
                 render_playbook(records, source))
    write_atomic(os.path.join(output_dir, REQUIREMENTS),
                 environment().get_template('requirements.yml.j2').render())


def write_readme(output_dir):
    write_atomic(os.path.join(output_dir, README),
                 environment().get_template('output-readme.txt.j2').render(
                     version=__version__))
