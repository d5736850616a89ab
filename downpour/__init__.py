"""downpour: move a tenant's workload from one OpenStack cloud to another."""

import functools
import json
import os
import subprocess
from importlib import metadata

import pbr.version

_PACKAGE = 'os-downpour'

# The version pbr gave the installed package, development builds included
# (0.0.1.dev211, not the bare 0.0.1 of version_string()).
__version__ = pbr.version.VersionInfo(_PACKAGE).release_string()


@functools.cache
def build():
    """The exact build that runs: the version, and for a development build
    the commit.  Run from a git checkout (an editable install), the commit
    comes from git, since the installed metadata is as old as the install;
    ", modified" says the checkout has uncommitted changes."""
    commit = _checkout_commit()
    if commit is None:
        commit = _installed_commit()
    return '%s (git %s)' % (__version__, commit) if commit else __version__


def _checkout_commit():
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.exists(os.path.join(top, '.git')):
        return None
    try:
        # git from PATH, with our own arguments.
        command = ['git', '-C', top, 'describe', '--always',
                   '--abbrev=12', '--dirty=+modified', '--exclude', '*']
        proc = subprocess.run(  # noqa: S603
            command,
            capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    text = proc.stdout.strip()
    if proc.returncode or not text:
        return None
    return text.replace('+modified', ', modified')


def _installed_commit():
    """pbr records the commit of a development build in pbr.json."""
    try:
        text = metadata.distribution(_PACKAGE).read_text('pbr.json')
        info = json.loads(text or '{}')
    except (metadata.PackageNotFoundError, ValueError):
        return None
    if not isinstance(info, dict) or info.get('is_release'):
        return None
    return info.get('git_version') or None
