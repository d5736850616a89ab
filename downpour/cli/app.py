"""The ``downpour`` command: a cliff application.

Commands are found through the ``downpour.cli`` entry point namespace.
Connection settings are the standard os-client-config ones (``--os-cloud``,
``--os-*`` options, ``OS_*`` variables); commands call :meth:`connect`,
so ``--help`` and commands that need no cloud never contact one.

Errors: a DownpourError (or a failure of the cloud libraries) is printed as
one line, ``downpour: error: ...``, and the exit status is 1; a traceback
is shown only with ``--debug``.
"""

import argparse
import logging
import sys

import keystoneauth1.exceptions as ksa_exc
import openstack.config
import openstack.exceptions as sdk_exc
from cliff import app, commandmanager
from keystoneauth1 import adapter, loading

import downpour
from downpour import cloud
from downpour.errors import CloudError, DownpourError

# Library loggers that are too chatty for the console unless -vv is given
# (-v already shows downpour's own debug messages).
_QUIET_LOGGERS = ('keystoneauth', 'openstack', 'stevedore', 'urllib3')


def describe_error(err, secrets=()):
    """The one line the user sees for an exception."""
    if isinstance(err, DownpourError):
        message = 'downpour: error: %s' % err
    elif isinstance(err, (ksa_exc.ClientException, sdk_exc.SDKException)):
        message = 'downpour: error: cloud request failed: %s' % (
            cloud.explain(err))
    else:
        message = ('downpour: unexpected error (a bug, please report it): '
                   '%s: %s (--debug shows the traceback)'
                   % (type(err).__name__, err))
    return cloud.scrub(' '.join(message.split()), secrets)


# keystoneauth's options for a client of one service: downpour talks to
# every service of a cloud, so one service type, API version or endpoint
# would be wrong for all the others (an endpoint override sends every
# request to that one URL).  They are left out of the help, and refused in
# one line when given (not silently ignored; their OS_* variables are not
# read).
_SINGLE_SERVICE_OPTIONS = ('--os-service-type', '--os-service-name',
                           '--os-api-version', '--os-endpoint-override')


def _drop_options(parser, options):
    # argparse has no public way to remove an option.
    for option in options:
        action = parser._option_string_actions.pop(option, None)
        if action is None:
            continue
        for other in action.option_strings:
            parser._option_string_actions.pop(other, None)
        parser._remove_action(action)
        for group in parser._action_groups:
            if action in group._group_actions:
                group._group_actions.remove(action)
        parser.add_argument(*action.option_strings, dest=action.dest,
                            nargs=action.nargs, action=_Refused,
                            help=argparse.SUPPRESS)


class _Refused(argparse.Action):

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error('%s is for a client of one service; downpour uses '
                     'every service of the cloud: give per-service settings '
                     '(such as compute_api_version) in clouds.yaml instead'
                     % option_string)


class _ErrorLog(logging.LoggerAdapter):
    """cliff logs a failed command's exception with LOG.error(err)."""

    def __init__(self, logger, app=None):
        super().__init__(logger, {})
        self.app = app

    def error(self, msg, *args, **kwargs):
        if isinstance(msg, BaseException) and not args:
            msg = describe_error(msg, self.app.secrets() if self.app else ())
        super().error(msg, *args, **kwargs)


class DownpourApp(app.App):
    NAME = 'downpour'
    CONSOLE_MESSAGE_FORMAT = '%(message)s'

    def __init__(self, argv=None, **kwargs):
        # Loading plugins logs failures (an auth plugin needing lxml, ...)
        # before logging is configured: keep that off the console.
        logging.getLogger('stevedore').setLevel(logging.CRITICAL)
        self._log_handlers = []
        # os-client-config peeks at argv to know which auth options to add.
        self._argv = list(argv or [])
        self._connection = None
        self.LOG = _ErrorLog(logging.getLogger('downpour.cli'), self)
        super().__init__(
            description='Move a tenant\'s workload from one OpenStack cloud '
                        'to another.',
            version=downpour.build(),
            command_manager=commandmanager.CommandManager('downpour.cli'),
            **kwargs)

    def build_option_parser(self, description, version,
                            argparse_kwargs=None):
        parser = super().build_option_parser(description, version,
                                             argparse_kwargs)
        # cliff names the program after sys.argv[0] (python, pytest, ...).
        parser.prog = self.NAME
        parser._option_string_actions['--version'].version = (
            '%s %s' % (self.NAME, version))
        config = openstack.config.OpenStackConfig()
        try:
            config.register_argparse_arguments(parser, list(self._argv))
        except (sdk_exc.ConfigException, ksa_exc.ClientException) as exc:
            if '--os-auth-type' in parser._option_string_actions:
                # An --os-auth-type (or auth_type) that does not exist.
                raise CloudError(' '.join(str(exc).split())) from None
            # OS_CLOUD or --os-cloud names no cloud: register the usual
            # options anyway so that --help works; connect() reports the
            # problem when a command needs the cloud.
            loading.register_auth_argparse_arguments(
                parser, [], default='password')
            loading.register_session_argparse_arguments(parser)
            adapter.register_adapter_argparse_arguments(parser)
        _drop_options(parser, _SINGLE_SERVICE_OPTIONS)
        return parser

    def configure_logging(self):
        root = logging.getLogger('')
        before = list(root.handlers)
        super().configure_logging()
        self._log_handlers = [h for h in root.handlers if h not in before]
        quiet = self.options.verbose_level < 3
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(
                logging.ERROR if quiet else logging.NOTSET)
        if quiet:
            logging.getLogger('stevedore').setLevel(logging.CRITICAL)

    def close_logging(self):
        """Remove the handlers configure_logging added (main() may run
        more than once in a process, as in tests)."""
        root = logging.getLogger('')
        for handler in self._log_handlers:
            root.removeHandler(handler)
            handler.close()
        self._log_handlers = []

    def interact(self):
        # cliff's interactive shell is no use here: without a command,
        # show the help and fail.
        self.parser.print_help(self.stderr)

    def connect(self):
        """The source cloud's Connection, made on first use."""
        if self._connection is None:
            self._connection = cloud.connect(options=self.options)
        return self._connection

    def secrets(self):
        if self._connection is None:
            return ()
        return getattr(self._connection, 'downpour_secrets', ())


def main(argv=sys.argv[1:]):
    try:
        downpour_app = DownpourApp(argv)
    except DownpourError as exc:
        print(describe_error(exc), file=sys.stderr)
        return 1
    try:
        return downpour_app.run(list(argv))
    finally:
        downpour_app.close_logging()


if __name__ == '__main__':
    sys.exit(main())
