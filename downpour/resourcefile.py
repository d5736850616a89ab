"""The resource file: which resources to export, and how.

A resource file is YAML with one list per section::

    servers:
      - name: web-1
        key_name: new-key      # the key the new server gets
      - name: db
        id: 0d3c4f5e-...       # names repeat: the id picks one
        save_state: false
    volumes:
      - name: scratch
    keypairs:
      - name: ops
    floating_ips:
      - address: 203.0.113.25  # floating IPs have no name

Each entry names a resource by ``name``, ``id`` or both (the ``id`` wins when
both are given); a floating IP by ``address``, ``id`` or both.
``save_state`` (servers and volumes) says whether the contents are copied;
``key_name`` (servers) replaces the server's keypair.

The file is always read with a safe YAML loader, and everything in it is
checked before anything uses it: any problem raises one ResourceFileError
naming the file, the section and the entry.

Saving keeps every entry and option the user wrote, and their comments when
the file can be round-tripped by ruamel.yaml (the text written is read back
with the same loader before it replaces the file; if it does not give the
same entries, or ruamel.yaml is missing, the file is written with PyYAML
and comments are lost).  Writes are atomic: a temporary file in the same
directory, then a rename.
"""

import dataclasses
import io
import ipaddress
import logging
import os
import tempfile

import yaml

from downpour.errors import ResourceFileError
from downpour.importer import definitions

try:
    import ruamel.yaml
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString
except ImportError:  # pragma: no cover - ruamel.yaml is a requirement
    ruamel = None

LOG = logging.getLogger(__name__)

# Like every per-type table here, from the types' declarations, so that a
# new type needs no change in this module.  In the import's order: nothing
# depends on it (what must come first is chosen where it matters).
SECTIONS = tuple(definitions.BY_SECTION)

# The sections whose contents can be copied, and so may say save_state.
STATEFUL_SECTIONS = tuple(section for section, rtype
                          in definitions.BY_SECTION.items()
                          if 'save_state' in rtype.options)

# The keys an entry of each section may have, in the order they are
# written: what names it (a floating IP has no name, its address names it),
# its id, then its options.
_KEYS = {section: (rtype.named_by, 'id') + rtype.options
         for section, rtype in definitions.BY_SECTION.items()}

# The keys that are some section's option, for saying where they belong.
_OPTIONS = frozenset(option for rtype in definitions.BY_SECTION.values()
                     for option in rtype.options)


def quote(value):
    """A value from a file or a cloud, shown on one line in a message."""
    return repr(value)


@dataclasses.dataclass
class Entry:
    """One resource the user asked for."""

    section: str
    name: str | None = None
    # Used when names repeat; at least one of name and id is given.
    id: str | None = None
    # None means the default: True for servers and volumes.
    save_state: bool | None = None
    # Servers only: the keypair the new server gets (need not exist in the
    # source cloud).
    key_name: str | None = None
    # Floating IPs only, instead of a name.
    address: str | None = None
    # Position in its section, for messages.
    index: int = 0

    @property
    def wants_state(self) -> bool:
        if self.section not in STATEFUL_SECTIONS:
            return False
        return True if self.save_state is None else self.save_state

    def describe(self) -> str:
        where = '%s[%d]' % (self.section, self.index)
        if self.name is not None:
            return '%s (name %s)' % (where, quote(self.name))
        if self.address is not None:
            return '%s (address %s)' % (where, quote(self.address))
        if self.id is not None:
            return '%s (id %s)' % (where, quote(self.id))
        return where

    def same_as(self, other) -> bool:
        """True when both entries ask for the same resource, options aside."""
        if self.section != other.section:
            return False
        if self.id is not None or other.id is not None:
            return self.id == other.id
        return (self.name, self.address) == (other.name, other.address)

    def as_dict(self) -> dict:
        """The entry as it is written: name first, options only when set."""
        data = {}
        for key in _KEYS[self.section]:
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


class ResourceFile:
    """A resource file: its sections of entries, loaded or to be written."""

    def __init__(self, path, sections=None):
        self.path = os.fspath(path)
        self._sections = {section: [] for section in SECTIONS}
        # Sections in the order the file had them, so a save keeps it.
        self._order = []
        for entries in (sections or {}).values():
            for entry in entries:
                self.add(entry)

    # -- reading -----------------------------------------------------------

    @classmethod
    def load(cls, path, missing_ok=False) -> 'ResourceFile':
        """Read and check a resource file.

        Raises ResourceFileError for anything wrong with it.  With
        ``missing_ok`` a file that does not exist gives an empty
        ResourceFile (``downpour query`` creates the file).
        """
        resource_file = cls(path)
        try:
            with open(resource_file.path, encoding='utf-8') as stream:
                text = stream.read()
        except FileNotFoundError:
            if missing_ok:
                return resource_file
            raise ResourceFileError(
                '%s: no such file' % resource_file.path) from None
        except UnicodeDecodeError as exc:
            raise ResourceFileError('%s: not UTF-8 text (byte %d)' % (
                resource_file.path, exc.start)) from exc
        except OSError as exc:
            raise ResourceFileError('%s: cannot read: %s' % (
                resource_file.path, exc.strerror or exc)) from exc
        resource_file._parse(text)
        return resource_file

    def _error(self, message, where=None):
        if where:
            return ResourceFileError('%s: %s: %s' % (self.path, where,
                                                     message))
        return ResourceFileError('%s: %s' % (self.path, message))

    def _parse(self, text):
        document = _safe_load(text, self.path)
        if document is None:
            return
        if not isinstance(document, dict):
            raise self._error(
                'the top level must be a mapping of sections (%s), not %s'
                % (', '.join(SECTIONS), _kind(document)))
        for section, items in document.items():
            if section not in SECTIONS:
                raise self._error('unknown section %s (sections are: %s)' % (
                    quote(section), ', '.join(SECTIONS)))
            self._order.append(section)
            if items is None:
                # "servers:" with nothing under it: an empty section.
                continue
            if not isinstance(items, list):
                raise self._error('must be a list of entries, not %s'
                                  % _kind(items), section)
            for index, item in enumerate(items):
                self._sections[section].append(
                    self._parse_entry(section, index, item))

    def _parse_entry(self, section, index, item):
        where = '%s[%d]' % (section, index)
        if not isinstance(item, dict):
            raise self._error(
                'each entry must be a mapping such as "name: ...", not %s'
                % _kind(item), where)
        # Name the entry in later messages as soon as its name is known (a
        # name even where it is not allowed: it shows which entry is wrong).
        named_by = definitions.BY_SECTION[section].named_by
        for key in dict.fromkeys(('name', named_by)):
            value = item.get(key)
            if isinstance(value, str) and value:
                where = '%s (%s %s)' % (where, key, quote(value))
        values = {}
        for key, value in item.items():
            if key not in _KEYS[section]:
                raise self._error(_unknown_key_message(section, key), where)
            if key == 'save_state':
                if not isinstance(value, bool):
                    raise self._error('save_state must be true or false, '
                                      'not %s' % _kind(value), where)
            elif not isinstance(value, str):
                raise self._error(
                    '%s must be a string, not %s (quote it)'
                    % (key, _kind(value)), where)
            elif not value:
                raise self._error('%s must not be empty' % key, where)
            elif key == 'address' and not _is_address(value):
                raise self._error('address must be an IP address, not %s'
                                  % _kind(value), where)
            values[key] = value
        if named_by not in values and 'id' not in values:
            raise self._error('give %s %s or an id' % (
                'an' if named_by[0] in 'aeiou' else 'a', named_by), where)
        return Entry(section=section, index=index, **values)

    # -- the model ---------------------------------------------------------

    def entries(self, section) -> list[Entry]:
        if section not in self._sections:
            raise ValueError('unknown section %r' % (section,))
        return list(self._sections[section])

    def add(self, entry: Entry) -> bool:
        """Append an entry; False when an equal one is already there.

        Equal means the same id or, when neither has an id, the same name.
        """
        if entry.section not in self._sections:
            raise ValueError('unknown section %r' % (entry.section,))
        existing = self._sections[entry.section]
        if any(entry.same_as(other) for other in existing):
            return False
        existing.append(dataclasses.replace(entry, index=len(existing)))
        if entry.section not in self._order:
            self._order.append(entry.section)
        return True

    def as_dict(self) -> dict:
        """The whole file as plain data, sections in the file's order."""
        return {
            section: [entry.as_dict() for entry in self._sections[section]]
            for section in self._order
        }

    # -- writing -----------------------------------------------------------

    def save(self) -> None:
        """Write the file atomically, keeping comments when possible."""
        for make_text in (self._round_trip_text, self._plain_text,
                          self._ascii_text):
            text = make_text()
            if text is not None and self._reads_back(text):
                break
        else:
            raise self._error('cannot be written: the YAML does not '
                              'read back as the same entries (a bug)')
        _atomic_write(self.path, text)

    def _plain_text(self, allow_unicode=True):
        return yaml.safe_dump(self.as_dict(), sort_keys=False,
                              allow_unicode=allow_unicode,
                              default_flow_style=False, width=4096, indent=2)

    def _ascii_text(self):
        # PyYAML writes some line separators (U+0085, U+2028) raw in
        # single quotes, where they read back as spaces; escaped, they
        # survive.
        return self._plain_text(allow_unicode=False)

    def _round_trip_text(self):
        """The user's file with our entries merged in, comments kept."""
        if ruamel is None:
            return None
        try:
            with open(self.path, encoding='utf-8') as stream:
                original = stream.read()
        except OSError:
            return None
        try:
            rt = ruamel.yaml.YAML(typ='rt')
            rt.width = 4096
            if _sequences_flush(original):
                rt.indent(mapping=2, sequence=2, offset=0)
            else:
                rt.indent(mapping=2, sequence=4, offset=2)
            document = rt.load(original)
            if document is None:
                document = ruamel.yaml.comments.CommentedMap()
            for section in self._order:
                wanted = self._sections[section]
                items = document.get(section)
                if items is None:
                    items = document[section] = (
                        ruamel.yaml.comments.CommentedSeq())
                # Entries are only ever appended, so the new ones are the
                # tail; anything else means the file changed under us.
                if len(items) > len(wanted):
                    return None
                for entry in wanted[len(items):]:
                    items.append(_quoted_dict(entry))
            out = io.StringIO()
            rt.dump(document, out)
            return out.getvalue()
        except Exception as exc:  # noqa: BLE001 - any failure: plain dump
            LOG.debug('%s: comments not kept: %s', self.path, exc)
            return None

    def _reads_back(self, text):
        copy = ResourceFile(self.path)
        try:
            copy._parse(text)
        except ResourceFileError as exc:
            LOG.debug('written text does not read back: %s', exc)
            return False
        return all(
            [e.as_dict() for e in copy._sections[s]]
            == [e.as_dict() for e in self._sections[s]]
            for s in SECTIONS)


def _safe_load(text, path):
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = ' '.join(str(exc.problem or exc.context or 'error').split())
        if mark is not None:
            raise ResourceFileError('%s: line %d, column %d: invalid YAML: %s'
                                    % (path, mark.line + 1, mark.column + 1,
                                       problem)) from exc
        raise ResourceFileError(
            '%s: invalid YAML: %s' % (path, problem)) from exc
    except yaml.YAMLError as exc:
        # ReaderError (control characters) and friends.
        raise ResourceFileError('%s: invalid YAML: %s' % (
            path, ' '.join(str(exc).split()))) from exc
    except RecursionError:
        raise ResourceFileError(
            '%s: invalid YAML: nested too deeply' % path) from None
    except (ValueError, TypeError, OverflowError) as exc:
        # PyYAML's constructors raise these for values such as a date of
        # 2001-02-30.
        raise ResourceFileError('%s: invalid YAML value: %s' % (
            path, ' '.join(str(exc).split()))) from exc


def _is_address(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _kind(value):
    """How a YAML value is called in messages."""
    if value is None:
        return 'empty'
    if isinstance(value, bool):
        return 'a boolean (%s)' % ('true' if value else 'false')
    if isinstance(value, (int, float)):
        return 'a number (%s)' % value
    if isinstance(value, str):
        return 'a string (%s)' % quote(value)
    if isinstance(value, list):
        return 'a list'
    if isinstance(value, dict):
        return 'a mapping'
    return 'a %s' % type(value).__name__


def _unknown_key_message(section, key):
    if key in _OPTIONS:
        allowed = ' and '.join(s for s in SECTIONS if key in _KEYS[s])
        return '%s only applies to %s' % (key, allowed)
    return 'unknown key %s (keys are: %s)' % (quote(key),
                                             ', '.join(_KEYS[section]))


def _quoted_dict(entry):
    # Double quotes read the same in YAML 1.1 (PyYAML) and 1.2 (ruamel):
    # a plain "yes" or "1e3" would not.
    data = {}
    for key, value in entry.as_dict().items():
        data[key] = (DoubleQuotedScalarString(value)
                     if isinstance(value, str) else value)
    return data


def _sequences_flush(text):
    """True when the file writes "- name" at the start of the line."""
    for line in text.splitlines():
        if line.startswith('- '):
            return True
        if line.lstrip().startswith('- '):
            return False
    return False


def _atomic_write(path, text):
    directory = os.path.dirname(os.path.abspath(path))
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    except OSError as exc:
        raise ResourceFileError('%s: cannot write: %s' % (
            path, exc.strerror or exc)) from exc
    try:
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path),
                                   suffix='.tmp', dir=directory)
    except OSError as exc:
        raise ResourceFileError('%s: cannot write: %s' % (
            path, exc.strerror or exc)) from exc
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise ResourceFileError('%s: cannot write: %s' % (
            path, exc.strerror or exc)) from exc
