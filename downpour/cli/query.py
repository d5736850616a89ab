"""``downpour query``: add resources found in the cloud to a resource file."""

import argparse
import dataclasses
import logging
import os

from cliff import lister

from downpour import query, resourcefile
from downpour.importer import definitions
from downpour.resourcefile import ResourceFile

LOG = logging.getLogger(__name__)


class Query(lister.Lister):
    """Find resources and add them to a resource file.

    The file is created, or updated in place: entries already there (and
    their options) are kept, and nothing is added twice.  Name patterns are
    shell-style ('*', '?', '[seq]'), match the whole name and are
    case-sensitive; quote them.  Only the sections with a filter are
    searched.  Prints the entries added, and says when nothing was.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'resource_file', metavar='RESOURCE_FILE',
            help='the resource file to create or update')
        for definition in definitions.BY_SECTION.values():
            _add_names(parser, definition)
        parser.add_argument(
            '--include-public', action='store_true',
            help='images: also public and community images (by default '
                 'only the project\'s own and those shared with it)')
        state = parser.add_mutually_exclusive_group()
        state.add_argument(
            '--save-state', dest='save_state', action='store_true',
            default=None,
            help='new server and volume entries say save_state: true '
                 '(the default when the option is left out)')
        state.add_argument(
            '--no-save-state', dest='save_state', action='store_false',
            help='new server and volume entries say save_state: false: '
                 'recreate them empty')
        _add_strategies(parser)
        return parser

    def take_action(self, parsed_args):
        # Each field of Filters is the dest of its option.
        filters = query.Filters(**{
            field.name: getattr(parsed_args, field.name)
            for field in dataclasses.fields(query.Filters)})
        # Bad input is reported before any cloud is contacted.
        filters.check()
        resource_file = ResourceFile.load(parsed_args.resource_file,
                                          missing_ok=True)
        existed = os.path.exists(resource_file.path)
        matches = query.find(self.app.connect(), filters)
        added = query.add_matches(resource_file, matches, filters)
        # Patterns that found nothing: a typo, or another project's name.
        unmatched = ', '.join(
            '%s %s' % (option, resourcefile.quote(pattern))
            for option, pattern in query.unmatched(filters, matches))
        if unmatched and matches:
            LOG.warning('nothing matched %s', unmatched)
        # Nothing matched is an answer, not a failure: exit 0 (see
        # doc/source/decisions.rst), with a warning even under -q.
        if added:
            resource_file.save()
            LOG.info('%s added to %s', _count(len(added), 'entry', 'entries'),
                     resource_file.path)
        elif matches:
            LOG.warning('nothing added: the %s that matched %s already in %s',
                        _count(len(matches), 'resource', 'resources'),
                        'is' if len(matches) == 1 else 'are',
                        resource_file.path)
        else:
            LOG.warning('nothing added: no resource matched%s; %s %s',
                        ' ' + unmatched if unmatched else '',
                        resource_file.path,
                        'is unchanged' if existed else 'was not created')
        return (('Section', 'Name', 'ID'),
                [(match.section, match.name or '', match.id)
                 for _entry, match in added])


def _count(number, one, many):
    return '%d %s' % (number, one if number == 1 else many)


def _add_names(parser, definition):
    """The option for the names (or addresses) of a type's section."""
    what = definition.noun or definition.section.replace('_', ' ')
    if definition.named_by == 'address':
        metavar = 'ADDRESS'
        help_text = ("add the %s with this address; a pattern such as "
                     "'203.0.113.*' adds every one it matches (repeatable)"
                     % what)
    else:
        metavar = 'PATTERN'
        help_text = 'add %s whose name matches PATTERN (repeatable)' % what
    if definition.follows:
        help_text += ('. Those that belong to what is exported come with it '
                      'anyway')
    parser.add_argument(
        definition.option, dest=query.names_field(definition),
        metavar=metavar, action='append', default=[], help=help_text)


def _time(text):
    value = query.parse_time(text)
    if value is None:
        raise argparse.ArgumentTypeError(
            'not a date or time such as 2026-11-30 or 2026-11-30T18:00:00Z: '
            '%r' % text)
    return value


def _add_strategies(parser):
    group = parser.add_argument_group(
        'selection strategies',
        'Server filters combine: a server is added when it passes every '
        'one given (and each repeated filter is "any of these").')
    group.add_argument(
        '--all', dest='select_all', action='store_true',
        help='everything the project owns: all its servers, volumes, '
             'images (not those shared with it; public ones too with '
             '--include-public), keypairs, networks and security groups')
    group.add_argument(
        '--used', dest='used_only', action='store_true',
        help='images, keypairs and security groups only as far as a '
             'selected server uses them (its image, its keypair, the '
             'groups of its ports); select servers too (--server-name, '
             '--all or a server filter)')
    group.add_argument(
        '--same-host-as', dest='same_host_as', metavar='SERVER',
        help='only servers on the same host as SERVER (name or ID), by the '
             'host hash (hostId) the compute API shows every member')
    group.add_argument(
        '--status', '--server-status', dest='server_statuses',
        metavar='STATUS', action='append', default=[],
        help='only servers with this status, e.g. ACTIVE or SHUTOFF, any '
             'case (repeatable; without --server-name, all such servers)')
    group.add_argument(
        '--flavor', '--server-flavor', dest='server_flavors',
        metavar='FLAVOR', action='append', default=[],
        help='only servers of this flavor, by name or ID (repeatable; '
             'without --server-name, all such servers)')
    group.add_argument(
        '--network', dest='server_networks', metavar='NETWORK',
        action='append', default=[],
        help='only servers with a port on this network, by name or ID '
             '(repeatable)')
    group.add_argument(
        '--tag', dest='server_tags', metavar='TAG', action='append',
        default=[], help='only servers with this tag (repeatable)')
    group.add_argument(
        '--created-before', dest='created_before', metavar='TIME',
        type=_time,
        help='only servers created before TIME (ISO 8601 date or time; '
             'UTC unless it says otherwise)')
    group.add_argument(
        '--created-after', dest='created_after', metavar='TIME',
        type=_time,
        help='only servers created at or after TIME')
