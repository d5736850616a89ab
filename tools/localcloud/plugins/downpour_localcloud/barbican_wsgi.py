"""Barbican's WSGI application, with its paste file from $HOME.

barbican.wsgi.api hard-codes /etc/barbican/barbican-api-paste.ini, and
barbican re-parses its configuration at import with no arguments, finding
barbican.conf only in $HOME, ~/.barbican or /etc.  localcloud starts
barbican-api with HOME set to the cloud's etc/barbican, which holds both
files, so two clouds never read the machine's /etc nor each other's.
"""
import os

from paste import deploy

application = deploy.loadapp(
    "config:" + os.path.join(os.environ["HOME"], "barbican-api-paste.ini"))
