"""Launcher for nova-compute with our compute driver.

``nova.virt.driver.load_compute_driver`` always imports
``nova.virt.<compute_driver>``, so a driver outside nova's tree cannot be
named in nova.conf directly.  This launcher imports nova's own nova-compute
module first (it applies nova's monkey patching before anything else), then
registers ``downpour_localcloud.nova_fake`` as ``nova.virt.downpour_fake`` and
runs nova-compute's ``main()``.  Use ``compute_driver =
downpour_fake.DownpourFakeDriver``.  Arguments are nova-compute's.
"""
import sys

from nova.cmd import compute  # noqa: E402  (must come first: monkey patch)

from downpour_localcloud import nova_fake  # noqa: E402

sys.modules["nova.virt.downpour_fake"] = nova_fake

if __name__ == "__main__":
    sys.argv[0] = "nova-compute"
    sys.exit(compute.main())
