"""``downpour export``: write the playbook that recreates the resources."""

import logging
import os

from cliff import lister

from downpour import export, progress, transfer, vault
from downpour.errors import DownpourError
from downpour.resourcefile import ResourceFile

LOG = logging.getLogger(__name__)

_HEADERS = ('Type', 'Name', 'Old ID', 'Size')


def _positive(text, option='--parallel'):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise DownpourError('%s needs a whole number of at least 1, not %r'
                            % (option, text))
    return value


class Export(lister.Lister):
    """Copy what a resource file names, and what it needs, out of the cloud.

    Reads the resources of RESOURCE_FILE, and everything they need, from
    the source cloud, downloads their contents into OUTPUT_DIR/blobs
    (servers' disks and volumes are first copied in the source, into a
    temporary image deleted once downloaded) and writes
    OUTPUT_DIR/playbook.yml, with OUTPUT_DIR/README.txt saying what each
    file is.  Before it downloads, it checks that OUTPUT_DIR's disk has
    room for the estimated contents.  Barbican secrets' payloads go only
    into OUTPUT_DIR/secrets.vault.yml, encrypted with Ansible Vault
    (--vault-password-file).  Import with:
    ansible-playbook OUTPUT_DIR/playbook.yml -e cloud=<target cloud name>
    (and --vault-password-file FILE when the export holds secrets)
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('resource_file', metavar='RESOURCE_FILE',
                            help='the resource file (see downpour query)')
        parser.add_argument('output_dir', metavar='OUTPUT_DIR',
                            help='where playbook.yml and blobs/ are written '
                                 '(created if needed, readable by you only; '
                                 'one export at a time).  Run again after '
                                 'an interruption, an export continues: '
                                 'verified blobs are kept, and partial '
                                 'downloads, captures included, continue '
                                 'where they stopped.  A new export into a '
                                 'finished directory captures servers and '
                                 'volumes again; images are reused when '
                                 'still the same')
        captures = parser.add_mutually_exclusive_group()
        captures.add_argument(
            '--reuse-captures', action='store_true',
            help='keep the server and volume captures an earlier, finished '
                 'export left in OUTPUT_DIR instead of capturing them again '
                 '(each is named with its age): for a rehearsal, never for '
                 'a cutover')
        captures.add_argument(
            '--recapture', action='store_true',
            help='capture every server and volume again, even those an '
                 'unfinished export into OUTPUT_DIR took (which a run '
                 'again would otherwise continue with)')
        parser.add_argument(
            '--keep-captures', action='store_true',
            help='keep the images (and volume snapshots) made in the source '
                 'to capture servers and volumes, instead of deleting them')
        parser.add_argument(
            '--parallel', metavar='N', default='4',
            help='blobs downloaded at once (default 4).  Progress shows as '
                 'a bar when stderr is a terminal, otherwise as one line '
                 'per blob (-q: none)')
        parser.add_argument(
            '--captures', metavar='N', default='8',
            help='servers and volumes captured in the source meanwhile, '
                 'besides those downloading (default 8): each is a '
                 'snapshot image, and an attached volume also a snapshot '
                 'and a temporary volume that count against its quota')
        parser.add_argument(
            '--with-load-balancers', action='store_true',
            help='bring, with each server, the load balancers whose pools '
                 'hold it (with everything on them, and the other servers '
                 'of their pools); a load balancer always brings its '
                 'servers')
        parser.add_argument(
            '--volume-format', choices=transfer.VOLUME_FORMATS,
            default=transfer.VOLUME_FORMAT,
            help="the format a volume's contents are captured in: qcow2 "
                 '(the default) carries only what was written, raw every '
                 "byte; raw for a cloud whose Cinder or Glance refuses qcow2")
        parser.add_argument(
            '--vault-password-file', metavar='FILE',
            default=os.environ.get(vault.PASSWORD_ENV) or None,
            help='the Ansible Vault password that the secrets\' payloads '
                 'are encrypted with in OUTPUT_DIR/secrets.vault.yml, as '
                 'ansible-playbook reads it (the first line of FILE, or '
                 'what FILE prints when it is executable); give the same '
                 'to ansible-playbook at the import.  Needed when the '
                 'export holds secrets.  Default: $%s' % vault.PASSWORD_ENV)
        return parser

    def take_action(self, parsed_args):
        parallel = _positive(parsed_args.parallel)
        capturing = _positive(parsed_args.captures, '--captures')
        resource_file = ResourceFile.load(parsed_args.resource_file)
        # Before the cloud is asked anything.
        export.check_not_empty(resource_file)
        secret = vault.load_password(parsed_args.vault_password_file) \
            if parsed_args.vault_password_file else None
        conn = self.app.connect()
        reporter = progress.for_console(self.app.stderr,
                                        self.app.options.verbose_level)
        with progress.using(reporter):
            result = export.export(
                conn, resource_file, parsed_args.output_dir,
                keep_captures=parsed_args.keep_captures, parallel=parallel,
                capturing=capturing, volume_format=parsed_args.volume_format,
                reuse_captures=parsed_args.reuse_captures,
                recapture=parsed_args.recapture, vault_secret=secret,
                with_load_balancers=parsed_args.with_load_balancers,
                cloud_name=getattr(conn, 'downpour_cloud_name', None))
        LOG.info('playbook written to %s/playbook.yml', result.output_dir)
        return (_HEADERS, [(row.type, row.name, row.old_id,
                            '' if row.size is None else row.size)
                           for row in result.resources])
