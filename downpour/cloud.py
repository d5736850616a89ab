"""Connecting to a cloud, and turning its failures into CloudError.

Settings come from os-client-config, as in every OpenStack client:
clouds.yaml, the ``--os-*`` options and the ``OS_*`` variables.  The code
of os-client-config lives on in openstacksdk as :mod:`openstack.config`,
which is used directly: the ``os_client_config`` package is only a
deprecated wrapper whose own defaults (block storage API v2, identity
v2.0) break against current clouds and leak into every later
connection of the process.  Every
failure the user can do something about (an unknown cloud name, missing
credentials, an endpoint that does not answer, a refused login, a failed
API call) becomes one CloudError naming the cloud and, where it matters,
the endpoint.  Passwords, tokens and other secrets never appear in those
messages: they are scrubbed even from text the libraries produce.
"""

import contextlib
import logging
import urllib.parse

import keystoneauth1.exceptions as ksa_exc
import openstack.config
import openstack.connection
import openstack.exceptions as sdk_exc

import downpour
from downpour.errors import CloudError

LOG = logging.getLogger(__name__)

# Auth settings whose values must never be shown.
_SECRET_KEYS = ('password', 'token', 'secret', 'passcode', 'totp')


def connect(cloud=None, options=None):
    """An authorized openstacksdk Connection, or CloudError.

    ``cloud`` names an entry of clouds.yaml; ``options`` is the argparse
    namespace with the ``--os-*`` options (its ``os_cloud`` is used when
    ``cloud`` is None).  The token is requested here so that bad
    credentials are reported before any work starts.
    """
    name = cloud or getattr(options, 'os_cloud', None)
    try:
        config = openstack.config.OpenStackConfig(
            app_name='downpour', app_version=downpour.__version__)
        if name and name not in config.get_cloud_names():
            raise CloudError('%s is not in clouds.yaml (%s)' % (
                _describe(name), config.config_filename or
                'none found: set OS_CLIENT_CONFIG_FILE or use OS_* variables'))
        region = config.get_one(cloud=cloud, argparse=options)
    except sdk_exc.ConfigException as exc:
        raise CloudError(
            '%s: %s' % (_describe(name), _one_line(exc))) from None
    except ksa_exc.MissingRequiredOptions as exc:
        missing = ', '.join(opt.dest for opt in exc.options)
        raise CloudError(
            '%s: missing credentials: %s (set them in clouds.yaml, with '
            '--os-* options or OS_* variables)' % (_describe(name), missing)
        ) from None
    except ksa_exc.ClientException as exc:
        # NoMatchingPlugin and friends: a wrong auth_type.
        raise CloudError(
            '%s: %s' % (_describe(name), _one_line(exc))) from None

    name = region.name or name
    secrets = _secrets(region.config.get('auth') or {})
    endpoint = _safe_url((region.config.get('auth') or {}).get('auth_url'))
    conn = openstack.connection.Connection(config=region)
    with cloud_errors('logging in', cloud=name, endpoint=endpoint,
                      secrets=secrets):
        conn.authorize()
    # Remembered for later messages; openstacksdk does not use it.
    conn.downpour_cloud_name = name
    conn.downpour_secrets = secrets
    return conn


@contextlib.contextmanager
def cloud_errors(doing, cloud=None, endpoint=None, secrets=(), conn=None):
    """Turn keystoneauth and openstacksdk failures into CloudError.

    ``doing`` says what was being done ("listing servers").  Pass ``conn``
    (a Connection made by :func:`connect`) to name its cloud.
    """
    if conn is not None:
        cloud = cloud or getattr(conn, 'downpour_cloud_name', None)
        secrets = tuple(secrets) + tuple(
            getattr(conn, 'downpour_secrets', ()))
    try:
        yield
    except CloudError:
        raise
    except (ksa_exc.ClientException, sdk_exc.SDKException) as exc:
        message = '%s: %s failed: %s' % (
            _describe(cloud), doing, explain(exc, endpoint))
        raise CloudError(scrub(message, secrets)) from None


def explain(exc, endpoint=None):
    """What went wrong, in one line, from a keystoneauth/SDK exception."""
    # Connection.authorize() re-raises keystoneauth errors as a bare
    # SDKException: the original says more.
    original = exc
    if type(exc) is sdk_exc.SDKException and isinstance(
            exc.__context__, ksa_exc.ClientException):
        original = exc.__context__
    where = ' at %s' % endpoint if endpoint else ''
    if isinstance(original, ksa_exc.ConnectFailure):
        return 'cannot connect%s (is the cloud up and the URL right?)' % where
    if isinstance(original, ksa_exc.ConnectTimeout):
        return 'timed out connecting%s' % where
    if isinstance(original, ksa_exc.SSLError):
        return 'TLS failure%s: %s' % (where, _one_line(original))
    if isinstance(original, ksa_exc.Unauthorized):
        return 'the credentials were refused%s (HTTP 401)' % where
    if isinstance(original, ksa_exc.EndpointNotFound):
        return 'the service is not in the catalogue: %s' % _one_line(original)
    if isinstance(original, ksa_exc.MissingRequiredOptions):
        return 'missing credentials: %s' % ', '.join(
            opt.dest for opt in original.options)
    if isinstance(original, sdk_exc.HttpException):
        status = original.status_code
        text = _one_line(original)
        if status == 401:
            return 'the credentials were refused (HTTP 401): %s' % text
        if status == 403:
            return 'not allowed (HTTP 403): %s' % text
        return text
    return _one_line(original)


def _describe(cloud):
    if not cloud or cloud == 'defaults':
        return 'the default cloud'
    if cloud == 'envvars':
        return 'the cloud given by OS_* variables'
    return 'cloud %r' % (cloud,)


def _one_line(exc):
    return ' '.join(str(exc).split()) or type(exc).__name__


def _secrets(auth):
    return tuple(str(value) for key, value in auth.items()
                 if value and any(s in key for s in _SECRET_KEYS))


def scrub(message, secrets):
    """The message with each secret replaced by ***."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, '***')
    return message


def identity(conn):
    """Which cloud and project ``conn`` works in, as the manifest records
    it: the identity endpoint's host (and port), the project's ID and
    name.  Never a credential, a token or a user."""
    config = getattr(getattr(conn, 'config', None), 'config', None) or {}
    auth = config.get('auth') or {}
    host = None
    if auth.get('auth_url'):
        try:
            # host[:port], without user:password@, path or query.
            host = urllib.parse.urlsplit(
                str(auth['auth_url'])).netloc.rpartition('@')[2] or None
        except ValueError:
            host = None
    try:
        name = conn.session.auth.get_access(conn.session).project_name
    except Exception:  # noqa: BLE001 - only for the message; an ID is enough
        name = None
    return {'host': host, 'project_id': conn.current_project_id,
            'project_name': name}


def _safe_url(url):
    """The URL without user:password@ or a query string."""
    if not url:
        return None
    try:
        parts = urllib.parse.urlsplit(str(url))
    except ValueError:
        return '(invalid URL)'
    host = parts.netloc.rpartition('@')[2]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, '', ''))
