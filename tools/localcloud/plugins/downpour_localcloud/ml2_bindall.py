"""ML2 mechanism driver that binds every port (no agents in the test clouds).

Without an L2 agent nothing can bind the ports nova creates, and servers
would fail with ``binding_failed``.  neutron's own test drivers bind only on
magic host names or need agent records, so this driver binds any port on the
first segment, as an OVS port would be, and marks it ACTIVE.  There is no data
plane behind it: the binding only exists in the database.

Registered as ``downpour_bindall`` through the entry_points.txt of the
``downpour_localcloud-0.dist-info`` folder next to this package (on PYTHONPATH).
"""
from neutron_lib import constants
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api


class BindAllMechanismDriver(api.MechanismDriver):

    def initialize(self):
        pass

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context):
        for segment in context.segments_to_bind:
            context.set_binding(segment[api.ID],
                                portbindings.VIF_TYPE_OVS,
                                {portbindings.CAP_PORT_FILTER: True},
                                status=constants.PORT_STATUS_ACTIVE)
            return
