"""``downpour graph``: the dependency graph of what moves."""

import logging
import os
import sys

from cliff import command

from downpour import graph
from downpour.errors import DownpourError

LOG = logging.getLogger(__name__)


class Graph(command.Command):
    """Draw what moves and what it needs, as a Graphviz graph.

    From an output directory of downpour export: every exported resource
    (servers, their ports, networks, subnets, routers, security groups,
    volumes, images, keypairs, flavors...), an arrow to what it needs,
    sizes from the manifest, and, when downpour check ran, what it found
    missing in the target, clashing or not fitting, in colour.  From a
    resource file: the same resources as export would find them in the
    source cloud (--os-cloud SOURCE; GET requests only, nothing is
    downloaded).  Writes DOT to standard output, or to -o FILE: DOT for
    .dot, and SVG or PNG, drawn by Graphviz's dot, for .svg and .png.  A
    PNG goes to a file or a pipe, never to the terminal.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'source', metavar='RESOURCE_FILE_OR_OUTPUT_DIR',
            help='an output directory of downpour export, or a resource '
                 'file')
        parser.add_argument(
            '-o', '--output', metavar='FILE',
            help='write to FILE (.dot, .svg or .png) instead of standard '
                 'output')
        parser.add_argument(
            '--format', choices=graph.FORMATS,
            help='dot, svg or png (default: from the name of -o, else dot)')
        return parser

    def take_action(self, parsed_args):
        fmt = graph.output_format(parsed_args.output, parsed_args.format)
        # Before any work (a resource file is resolved in the cloud).
        if parsed_args.output:
            _check_writable(parsed_args.output)
        elif fmt == 'png' and _is_terminal(self.app.stdout):
            raise DownpourError('a PNG is binary, not for the terminal: '
                                'give -o FILE.png, or redirect the output')
        if os.path.isdir(parsed_args.source):
            drawn = graph.from_output(parsed_args.source)
        elif os.path.isfile(parsed_args.source):
            drawn = self._resolved(parsed_args.source)
        else:
            raise DownpourError('%s: no such file or directory'
                                % parsed_args.source)
        text = graph.dot(drawn)
        data = text.encode('utf-8') if fmt == 'dot' \
            else graph.render(text, fmt)
        if parsed_args.output:
            try:
                with open(parsed_args.output, 'wb') as stream:
                    stream.write(data)
            except OSError as exc:
                raise DownpourError('cannot write %s: %s' % (
                    parsed_args.output, exc.strerror or exc)) from None
            LOG.info('%d resources drawn in %s', len(drawn.nodes),
                     parsed_args.output)
        elif fmt == 'dot':
            self.app.stdout.write(text)
        else:
            sys.stdout.buffer.write(data)
        return 0

    def _resolved(self, path):
        from downpour import export
        from downpour.resourcefile import ResourceFile
        resource_file = ResourceFile.load(path)
        exporter = export.Exporter(self.app.connect(), source=path)
        return graph.from_records(exporter.resolve(
            export._entries(resource_file)))


def _is_terminal(stream):
    isatty = getattr(stream, 'isatty', None)
    return bool(isatty and isatty())


def _check_writable(path):
    """Say what is wrong with -o FILE in one line, before the work."""
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        problem = 'is a directory: give a file name'
    elif not os.path.isdir(parent):
        problem = 'no such directory: %s' % parent
    elif not os.access(parent if not os.path.exists(path) else path,
                       os.W_OK):
        problem = 'permission denied'
    else:
        return
    raise DownpourError('cannot write %s: %s' % (path, problem))
