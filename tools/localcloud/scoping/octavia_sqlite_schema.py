"""Create Octavia's schema on SQLite from the models (alembic cannot ALTER
constraints on SQLite), seed the lookup tables as octavia's functional tests
do; then run `octavia-db-manage stamp head`."""
import sys
from octavia.common import config, constants as C
from octavia.db import api as db_api, base_models, models as M

config.init(sys.argv[1:])
engine = db_api.get_engine()
base_models.BASE.metadata.create_all(engine)
session = db_api.get_session()
with session.begin():
    for names, cls in [
        (C.SUPPORTED_PROVISIONING_STATUSES, M.ProvisioningStatus),
        (C.SUPPORTED_HEALTH_MONITOR_TYPES, M.HealthMonitorType),
        (C.SUPPORTED_LB_ALGORITHMS, M.Algorithm),
        (C.SUPPORTED_PROTOCOLS, M.Protocol),
        (C.SUPPORTED_OPERATING_STATUSES, M.OperatingStatus),
        (C.SUPPORTED_SP_TYPES, M.SessionPersistenceType),
        (C.SUPPORTED_AMPHORA_ROLES, M.AmphoraRoles),
        (C.SUPPORTED_LB_TOPOLOGIES, M.LBTopology),
        (C.SUPPORTED_VRRP_AUTH, M.VRRPAuthMethod),
        (C.SUPPORTED_L7RULE_TYPES, M.L7RuleType),
        (C.SUPPORTED_L7RULE_COMPARE_TYPES, M.L7RuleCompareType),
        (C.SUPPORTED_L7POLICY_ACTIONS, M.L7PolicyAction),
        (C.SUPPORTED_CLIENT_AUTH_MODES, M.ClientAuthenticationMode)]:
        for n in names:
            session.add(cls(name=n))
    session.add(M.FlavorProfile(id=C.NIL_UUID, name='DELETED-PLACEHOLDER',
                                provider_name=C.DELETED, flavor_data='{}'))
    session.flush()
    session.add(M.Flavor(id=C.NIL_UUID, flavor_profile_id=C.NIL_UUID,
                         name='DELETED-PLACEHOLDER', enabled=False))
    session.add(M.AvailabilityZoneProfile(
        id=C.NIL_UUID, name='DELETED-PLACEHOLDER', provider_name=C.DELETED,
        availability_zone_data='{}'))
    session.flush()
    session.add(M.AvailabilityZone(availability_zone_profile_id=C.NIL_UUID,
                                   name=C.NIL_UUID, enabled=False))
print("tables:", len(base_models.BASE.metadata.tables))
