"""Sphinx configuration for the downpour documentation."""

import downpour

project = 'downpour'
copyright = 'downpour developers'
version = release = downpour.__version__

extensions = [
    'cliff.sphinxext',
]

# The command reference is generated from the commands' parsers.
autoprogram_cliff_application = 'downpour'
# The keystoneauth and session options every OpenStack client has are
# documented once, by os-client-config, not on every page.
autoprogram_cliff_ignored = ['--help', '--format', '--column', '--noindent',
                             '--max-width', '--fit-width', '--print-empty',
                             '--sort-column', '--sort-ascending',
                             '--sort-descending', '--quote']

master_doc = 'index'
exclude_patterns = []
html_theme = 'alabaster'

# Option names and quotes must come out as typed (--server-name, '*').
smartquotes = False
