"""``downpour query``: add resources found in the cloud to a resource file."""

import logging

from cliff import lister

from downpour import query
from downpour.resourcefile import ResourceFile

LOG = logging.getLogger(__name__)

_NAME_FILTERS = (
    ('--server-name', 'server_names', 'servers'),
    ('--image-name', 'image_names', 'images'),
    ('--volume-name', 'volume_names', 'volumes'),
    ('--keypair-name', 'keypair_names', 'keypairs'),
    ('--network-name', 'network_names', 'networks'),
    ('--security-group-name', 'security_group_names', 'security groups'),
)


class Query(lister.Lister):
    """Find resources and add them to a resource file.

    The file is created, or updated in place: entries already there (and
    their options) are kept, and nothing is added twice.  Name patterns are
    shell-style ('*', '?', '[seq]'), match the whole name and are
    case-sensitive; quote them.  Only the sections with a filter are
    searched.  Prints the entries added.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'resource_file', metavar='RESOURCE_FILE',
            help='the resource file to create or update')
        for option, dest, what in _NAME_FILTERS:
            parser.add_argument(
                option, dest=dest, metavar='PATTERN', action='append',
                default=[],
                help='add %s whose name matches PATTERN (repeatable)' % what)
        parser.add_argument(
            '--floating-ip', dest='floating_ip_addresses',
            metavar='ADDRESS', action='append', default=[],
            help='add the floating IP with this address; a pattern such '
                 "as '203.0.113.*' adds every one it matches (repeatable). "
                 'Those on the ports of exported servers come with them '
                 'anyway')
        parser.add_argument(
            '--server-flavor', dest='server_flavors', metavar='FLAVOR',
            action='append', default=[],
            help='only servers of this flavor, by name or ID (repeatable; '
                 'without --server-name, all such servers)')
        parser.add_argument(
            '--server-status', dest='server_statuses', metavar='STATUS',
            action='append', default=[],
            help='only servers with this status, e.g. ACTIVE or SHUTOFF, '
                 'any case (repeatable; without --server-name, all such '
                 'servers)')
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
        return parser

    def take_action(self, parsed_args):
        filters = query.Filters(
            server_names=parsed_args.server_names,
            image_names=parsed_args.image_names,
            volume_names=parsed_args.volume_names,
            keypair_names=parsed_args.keypair_names,
            network_names=parsed_args.network_names,
            security_group_names=parsed_args.security_group_names,
            floating_ip_addresses=parsed_args.floating_ip_addresses,
            server_flavors=parsed_args.server_flavors,
            server_statuses=parsed_args.server_statuses,
            include_public=parsed_args.include_public,
            save_state=parsed_args.save_state,
        )
        # Bad input is reported before any cloud is contacted.
        filters.check()
        resource_file = ResourceFile.load(parsed_args.resource_file,
                                          missing_ok=True)
        matches = query.find(self.app.connect(), filters)
        added = query.add_matches(resource_file, matches, filters)
        if added:
            resource_file.save()
            LOG.info('%d entries added to %s', len(added),
                     resource_file.path)
        else:
            LOG.warning('nothing new matched: %s is unchanged',
                        resource_file.path)
        return (('Section', 'Name', 'ID'),
                [(match.section, match.name or '', match.id)
                 for _entry, match in added])
