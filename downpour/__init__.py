"""downpour: move a tenant's workload from one OpenStack cloud to another."""

import pbr.version

__version__ = pbr.version.VersionInfo('os-downpour').version_string()
