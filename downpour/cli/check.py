"""``downpour check``: will an export fit the target project?"""

import logging

from cliff import lister

from downpour import check

LOG = logging.getLogger(__name__)


class Check(lister.Lister):
    """Compare an export with the target project before importing it.

    Run with the target's credentials (--os-cloud TARGET), with only the
    output directory of downpour export.  Makes GET requests only and
    creates nothing.  Looks at the target as the import's first task does
    (what of this import is there already, which flavor, external network,
    volume type and zone each resource gets, which names the target already
    uses), then counts what the import would make against the project's
    quotas and usage.  Prints one row per kind of quota (needed, free after
    the import, verdict), per choice and per name clash.  Exits 0 when the
    whole import fits and resolves, 1 when it does not, naming what does
    not.
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
        self._fits = result.fits
        # What downpour graph marks.
        check.write_marks(export, seen, cost, found, result)
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
        self._fits = False
        try:
            status = super().run(parsed_args)
        except check.SourceProjectRefused as exc:
            # Could not run, as for an unreachable target.
            self.app.LOG.error(exc)
            return 2
        return status or (0 if self._fits else 1)
