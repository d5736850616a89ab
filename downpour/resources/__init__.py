"""One module per resource type; TYPES lists them for the exporter."""

from downpour.resources.availability_zone import AvailabilityZone
from downpour.resources.flavor import Flavor
from downpour.resources.floating_ip import FloatingIP
from downpour.resources.image import Image, ServerSnapshot
from downpour.resources.keypair import Keypair
from downpour.resources.network import ExternalNetwork, Network, Port, Subnet
from downpour.resources.router import Router
from downpour.resources.security_group import SecurityGroup
from downpour.resources.server import Server
from downpour.resources.server_group import ServerGroup
from downpour.resources.volume import Volume
from downpour.resources.volume_type import VolumeType

TYPES = (Keypair, Image, ServerSnapshot, Volume, Network, ExternalNetwork,
         Subnet, Router, SecurityGroup, Flavor, VolumeType,
         AvailabilityZone, Port, ServerGroup, Server, FloatingIP)
BY_TYPE = {rtype.type: rtype for rtype in TYPES}
# The resource type each resource-file section asks for.
BY_SECTION = {rtype.section: rtype for rtype in TYPES if rtype.section}
