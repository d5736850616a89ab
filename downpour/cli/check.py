"""``downpour check``: will an export fit the target project?"""

import logging

from cliff import lister

from downpour import check

LOG = logging.getLogger(__name__)


class Check(lister.Lister):
    """Compare an export with the target project before importing it.

    Run with the target's credentials (--os-cloud TARGET), with only the
    output directory of downpour export.  Makes GET requests only and
    changes nothing in the cloud.  Looks at the target as the import's
    first task does (what of this import is there already, which flavor,
    external network, volume type and zone each resource gets, which names
    the target already uses), then counts what the import would make
    against the project's quotas and usage.

    Prints one row per kind of quota (needed, free after the import,
    verdict), per choice, per name clash, and per resource the import
    makes, with its state: new (to be made), already imported (made or
    taken by an earlier run), stale (made by an earlier run from an older
    capture than this export's: the import stops on it unless run with
    -e replace_stale=true), clash (its name is used in the target by a
    resource this import did not make); then the count of each.

    Writes one file, OUTPUT_DIR/check.yml (what downpour graph marks:
    the source IDs that are missing, clash, do not fit or are stale, and
    the problems), and with --fit OUTPUT_DIR/fit.yml and rest.yml.

    Exit status: 0 the import fits, resolves, and meets nothing stale and
    no clash; 1 it does not fit or resolve, or something is stale or
    clashes (each named); 2 the check could not run (the output directory
    cannot be read, the target cannot be reached or refuses the
    credentials).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('output_dir', metavar='OUTPUT_DIR',
                            help='the output directory of downpour export')
        parser.add_argument(
            '--fit', action='store_true',
            help='when not everything fits, write OUTPUT_DIR/fit.yml (the '
                 'entries of the exported resource file, servers first in '
                 'its order, whose resources fit together now) and '
                 'OUTPUT_DIR/rest.yml (the others): resource files for '
                 'downpour export')
        parser.add_argument(
            '--allow-source-project', action='store_true',
            help='check even when the target is the project the export '
                 'read (refused otherwise, exit 2): for an import into the '
                 'source on purpose, with -e allow_source_project=true')
        return parser

    def take_action(self, parsed_args):
        conn = self.app.connect()
        check.refuse_source_project(conn, parsed_args.output_dir,
                                    parsed_args.allow_source_project)
        export, seen, cost, result, found = check.run_check(
            conn, parsed_args.output_dir)
        self._ready = result.ready
        # What downpour graph marks.
        check.write_marks(export, seen, cost, found, result)
        LOG.info('resources: %s', ', '.join(
            '%d %s' % (result.states.get(s, 0), s) for s in check.STATES))
        for line in result.stale:
            LOG.error('stale: %s', line)
        if result.stale:
            LOG.error('%d made from an older capture than this export '
                      'holds: the import stops on them unless run with -e '
                      'replace_stale=true', len(result.stale))
        if result.clashes:
            LOG.error('%d name(s) already used in the target by what this '
                      'import did not make (see the name clash rows)',
                      len(result.clashes))
        if result.fits:
            LOG.info('the import fits the target project%s',
                     ': --fit has nothing to split' if parsed_args.fit
                     else '')
        else:
            LOG.error('the import does not fit or does not resolve: %s',
                      '; '.join(result.problems))
            if parsed_args.fit:
                for path in check.write_split(export, seen, cost, found):
                    LOG.info('written: %s', path)
        return check.HEADERS, result.rows

    def run(self, parsed_args):
        self._ready = False
        try:
            status = super().run(parsed_args)
        except BrokenPipeError:
            raise
        except Exception as exc:  # noqa: BLE001 - said in one line
            # Could not run (an unreadable directory, a cloud that cannot
            # be reached or refuses the credentials): 2, apart from 1, an
            # answer that the import does not fit.
            if self.app.options.debug:
                self.app.LOG.exception(exc)
            else:
                self.app.LOG.error(exc)
            return 2
        return status or (0 if self._ready else 1)
