"""Small plugins that let real OpenStack services run without hypervisor,
agents or block devices in downpour's local test clouds.

See tools/localcloud/README.rst for why each one exists.
"""
