"""An ML2 mechanism driver that binds every port, for a cloud without a dataplane.

devcloud runs neutron with no L2 agent, so the usual drivers (openvswitch, linuxbridge) cannot
bind ports and servers would fail with "binding failed". This driver binds the first segment
offered with ``vif_type=ovs`` and marks the port ACTIVE; nova's fake virt driver plugs nothing and
waits for no vif-plugged event, so that is all a server needs to reach ACTIVE.
"""

from neutron_lib import constants
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api


class NoopBindMechanismDriver(api.MechanismDriver):
    """Registered as the ``devcloud_noop`` entry point in ``neutron.ml2.mechanism_drivers``."""

    def initialize(self):
        pass

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context):
        for segment in context.segments_to_bind:
            context.set_binding(
                segment[api.ID],
                portbindings.VIF_TYPE_OVS,
                {portbindings.CAP_PORT_FILTER: True},
                status=constants.PORT_STATUS_ACTIVE,
            )
            return
