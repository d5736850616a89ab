"""Load balancers: made on the VIP subnet (or network) the import made or
chose, with the VIP address the source had where the import made the
subnet, with the flavor and zone chosen for the source's."""

from .kind import describe
from .octavia import (
    LB_PATH,
    OctaviaKind,
    call,
    project_listing,
    wait_active,
    wait_gone,
)


class LoadBalancers(OctaviaKind):
    """A load balancer of the import's own is made once and corrected
    (name, description, admin state, tags); everything on it is made by
    the kinds that follow it, one change at a time.  The provider is the
    target's default: a provider's flavors and zones are the target's to
    choose (load_balancer_flavor, load_balancer_availability_zone)."""

    lists = ('load_balancers',)
    fetch = project_listing(LB_PATH, 'loadbalancers')
    path = LB_PATH
    key = 'loadbalancer'

    def lb_key(self, item):
        return item['id']

    @staticmethod
    def addresses_on(item):
        # Its VIP keeps the source's address: no DHCP port may take it.
        return [item['vip_subnet']] if item.get('vip_address') and \
            item.get('vip_subnet') else []

    def body(self, item):
        body = super().body(item)
        if item.get('vip_subnet'):
            body['vip_subnet_id'] = self.resolve(item, item['vip_subnet'],
                                                 'VIP subnet')
        else:
            body['vip_network_id'] = self.resolve(item, item['vip_network'],
                                                  'VIP network')
        for field, key in (('flavor', 'flavor_id'),
                           ('availability_zone', 'availability_zone')):
            # '' is the target's default: asked for by naming none.
            chosen = self.imp.ids.get(item[field]) if item.get(field) \
                else None
            if chosen:
                body[key] = chosen
        return body

    def create(self, item):
        made = call(self.conn, 'POST', self.path, describe(item),
                    {self.key: self.body(item)})[self.key]
        # Recorded before the wait: a run stopped meanwhile (an amphora
        # takes minutes to boot) goes on with it.
        self.imp.made(item, made['id'])
        with self.imp.lock(('load balancer', made['id'])):
            return wait_active(self.conn, made['id'], describe(item))

    def discard(self, obj):
        # In ERROR: it goes with whatever was made on it, and is gone
        # before the next one takes its VIP address.
        item = self.imp.working
        with self.imp.lock(('load balancer', obj.id)):
            call(self.conn, 'DELETE', self.object_path(item, obj),
                 describe(item), params={'cascade': 'true'})
            wait_gone(self.conn, obj.id, describe(item))
