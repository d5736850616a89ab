"""What the kinds of Octavia share: its REST calls, and the rule that a
load balancer takes one change at a time.

Octavia refuses (409) any change to a load balancer, or to anything on it,
while one of its objects is PENDING_*.  So the work on one load balancer is
serialized (a lock per target load balancer, kept by the importer; other
load balancers go on meanwhile) and every create, update and delete waits
for the load balancer to be ACTIVE before and after it.

The API is called through openstacksdk's adapter rather than its resource
classes: those drop fields this import carries (a pool's
``tls_container_ref``, a health monitor's ``domain_name`` and
``http_version``, an L7 policy's ``redirect_http_code``, Octavia's l7policy
and l7rule quotas), and a dict read back as it was sent is what the
comparisons need.
"""

import time

from .kind import ImportFailed, Kind, describe

# How long a load balancer may stay PENDING_* before the import gives up,
# and how often it is asked.  A real one (an amphora to boot) takes
# minutes.
WAIT = 900
POLL = 2.0
LB_PATH = '/lbaas/loadbalancers'


class Obj(dict):
    """An Octavia object as the API gave it; its fields are attributes too,
    as the engine reads ``.id`` and ``.name`` of what a kind lists."""

    def __getattr__(self, key):
        if key.startswith('__'):
            raise AttributeError(key)
        return self.get(key)


class Immutable(ImportFailed):
    """Octavia's 409 for a change to what is PENDING_* (or on what is)."""


def call(conn, method, path, what, body=None, params=None):
    """One request to Octavia; its JSON answer (None when empty).  An
    error names ``what`` and says Octavia's own message."""
    response = conn.load_balancer.request(path, method, json=body,
                                          params=params)
    if response.status_code >= 400:
        try:
            detail = response.json()
        except ValueError:
            detail = response.text
        if isinstance(detail, dict):
            detail = detail.get('faultstring') or detail.get(
                'description') or detail
        error = Immutable if response.status_code == 409 and \
            'immutable' in str(detail) else ImportFailed
        raise error('%s: Octavia answered %s to %s %s: %s' % (
            what, response.status_code, method, path,
            ' '.join(str(detail).split())[:500]))
    if not response.content:
        return None
    return response.json()


def listing(conn, path, key, what='the target', **params):
    """Every object of a listing, page after page (Octavia pages with a
    ``<key>_links`` next link)."""
    found = []
    page = call(conn, 'GET', path, 'listing %s of %s' % (key, what),
                params=params or None)
    while True:
        found.extend(Obj(obj) for obj in page.get(key) or [])
        link = next((link.get('href') for link in
                     page.get('%s_links' % key) or []
                     if link.get('rel') == 'next'), None)
        if not link:
            return found
        page = call(conn, 'GET', link, 'listing %s of %s' % (key, what))


def project_listing(path, key):
    """A fetch (Kind.fetch) of the project's objects at ``path``."""
    def fetch(conn):
        return listing(conn, path, key, project_id=conn.current_project_id)
    return staticmethod(fetch)


def wait_active(conn, lb_id, what, wait=None):
    """The load balancer ``lb_id``, once ACTIVE; ``what`` is the work it is
    waited for, for the errors: ERROR, gone, or still pending at the end of
    the wait."""
    deadline = time.monotonic() + (WAIT if wait is None else wait)
    status = None
    while True:
        lb = call(conn, 'GET', '%s/%s' % (LB_PATH, lb_id), what)
        status = (lb.get('loadbalancer') or {}).get('provisioning_status')
        if status == 'ACTIVE':
            return Obj(lb['loadbalancer'])
        if status in ('ERROR', 'DELETED'):
            raise ImportFailed('%s: the target load balancer %s is %s '
                               '(Octavia says why in its logs; a run of the '
                               'import again replaces what it made in '
                               'ERROR)' % (what, lb_id, status))
        if time.monotonic() >= deadline:
            raise ImportFailed('%s: the target load balancer %s is still '
                               '%s after %d s; run the import again once '
                               'it is ACTIVE' % (what, lb_id, status,
                                                 WAIT if wait is None
                                                 else wait))
        time.sleep(POLL)


def wait_gone(conn, lb_id, what):
    """Once the load balancer ``lb_id`` is deleted."""
    deadline = time.monotonic() + WAIT
    while True:
        response = conn.load_balancer.request('%s/%s' % (LB_PATH, lb_id),
                                              'GET')
        if response.status_code == 404 or (
                response.ok and response.json()['loadbalancer'].get(
                    'provisioning_status') == 'DELETED'):
            return
        if time.monotonic() >= deadline:
            raise ImportFailed('%s: the target load balancer %s is still '
                               'not deleted after %d s' % (what, lb_id, WAIT))
        time.sleep(POLL)


def same(have, wanted):
    """Whether Octavia's ``have`` is the item's ``wanted``: Octavia writes
    the keys left unsaid in a dict (a session persistence's cookie name)
    as null."""
    if isinstance(have, dict) and isinstance(wanted, dict):
        return {k: v for k, v in have.items() if v is not None} == \
            {k: v for k, v in wanted.items() if v is not None}
    return have == wanted


def tags_differ(item, obj):
    wanted = item.get('tags')
    return wanted is not None and set(wanted) != set(obj.get('tags') or [])


class OctaviaKind(Kind):
    """An Octavia object on a load balancer: ``path`` lists and makes it,
    ``key`` is its name in Octavia's bodies.  ``fields`` are the item's
    fields sent as they are (the declaration's ``carried``, Octavia's
    names); ``body`` adds what the item names by reference."""

    path = None
    key = None
    # The item's refs to Barbican (a TLS certificate, a CA, a CRL) and the
    # field Octavia takes each in, by URL.
    tls = ()

    def lb_key(self, item):
        """The key of the load balancer item ``item`` is on."""
        raise NotImplementedError

    def target_lb(self, item):
        """The target ID of the load balancer ``item`` is on."""
        return self.resolve(item, self.lb_key(item), 'load balancer')

    def body(self, item):
        body = {key: item[key] for key in self.definition.carried
                if item.get(key) is not None}
        body['name'] = item.get('name') or ''
        body.update(self.certificates(item))
        return body

    def _href(self, item, key):
        href = self.imp.href(key)
        if href is None and not self.imp.wait(item):
            raise ImportFailed('%s: its certificate (source ID %s) was '
                               'neither found nor made' % (describe(item),
                                                           key))
        return href

    def certificates(self, item):
        """Octavia's fields of the item's certificates: the URL of each
        secret or container the import made or found for the source's
        (a list for a field that takes several)."""
        found = {}
        for field, octavia_field in self.tls:
            value = item.get(field)
            if isinstance(value, list):
                found[octavia_field] = [self._href(item, key)
                                        for key in value]
            elif value:
                found[octavia_field] = self._href(item, value)
        return found

    def collection(self, item):
        """Where ``item``'s objects are listed and made."""
        return self.path

    def object_path(self, item, obj):
        return '%s/%s' % (self.collection(item), obj.id)

    # The item's field naming what it is on, and how Octavia names that
    # on the object (a list of references, or an ID).
    parent = None

    def parent_ids(self, obj):
        return []

    def unusable(self, item, obj):
        if obj.get('provisioning_status') == 'ERROR':
            return 'it is in ERROR'
        if self.parent is not None and \
                self.imp.ids.get(item[self.parent]) not in \
                self.parent_ids(obj):
            # Its load balancer went to ERROR and was made again: it went
            # with the old one.
            return 'it is not on the %s this import has for it' % (
                self.parent.replace('_', ' '))
        return None

    def corrections(self, item, obj):
        fields = [key for key in self.definition.correctable
                  if key in self.definition.carried and key != 'tags']
        change = {key: item[key] for key in fields
                  if item.get(key) is not None
                  and not same(obj.get(key), item[key])}
        if (obj.get('name') or '') != (item.get('name') or ''):
            change['name'] = item.get('name') or ''
        if tags_differ(item, obj):
            change['tags'] = list(item['tags'])
        for field, hrefs in self.certificates(item).items():
            many = isinstance(hrefs, list)
            if None in (hrefs if many else [hrefs]):
                continue  # check mode: one is yet to be made
            have = obj.get(field)
            if (sorted(have or []) if many else have) != \
                    (sorted(hrefs) if many else hrefs):
                change[field] = hrefs
        return change

    def change(self, item, lb_id, work):
        """``work()`` on load balancer ``lb_id``, alone on it, once it is
        ACTIVE; its answer, once the load balancer is ACTIVE again."""
        what = describe(item)
        deadline = time.monotonic() + WAIT
        with self.imp.lock(('load balancer', lb_id)):
            while True:
                wait_active(self.conn, lb_id, what)
                try:
                    answer = work()
                    break
                except Immutable:
                    # The load balancer is ACTIVE a moment before what is
                    # on it (seen on the local clouds after a run was
                    # killed): asked again until the end of the wait.
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(POLL)
            wait_active(self.conn, lb_id, what)
        return answer

    def left_over(self, item):
        """The object Octavia made for ``item`` in a run stopped before it
        could record it, on the import's own load balancer, where Octavia
        allows only one (a pool's member at an address and port, its
        health monitor, a listener's port); None."""
        return None

    def create(self, item):
        lb_id = self.target_lb(item)
        found = self.left_over(item)
        if found is not None:
            # Octavia would refuse a second one (409), and nothing but this
            # import makes anything on a load balancer of its own.
            self.imp.made(item, found.id)
            change = self.corrections(item, found)
            if change:
                self.correct(item, found, change)
            return found

        def post():
            made = call(self.conn, 'POST', self.collection(item),
                        describe(item),
                        {self.key: self.body(item)})[self.key]
            # Before the wait: a run stopped meanwhile finds it.
            self.imp.made(item, made['id'])
            return Obj(made)
        return self.change(item, lb_id, post)

    def correct(self, item, obj, change):
        self.change(item, self.target_lb(item), lambda: call(
            self.conn, 'PUT', self.object_path(item, obj), describe(item),
            {self.key: change}))

    def discard(self, obj):
        item = self.imp.working
        if self.parent is not None and \
                self.imp.ids.get(item[self.parent]) not in \
                self.parent_ids(obj):
            return  # gone with the load balancer it was on
        self.change(item, self.target_lb(item), lambda: call(
            self.conn, 'DELETE', self.object_path(item, obj),
            describe(item)))


class OnLoadBalancer(OctaviaKind):
    """A kind made on the load balancer itself (a pool, a listener)."""

    parent = 'load_balancer'

    @staticmethod
    def parent_ids(obj):
        return [ref.get('id') for ref in obj.get('loadbalancers') or []]

    def lb_key(self, item):
        return item['load_balancer']

    def body(self, item):
        body = super().body(item)
        body['loadbalancer_id'] = self.target_lb(item)
        return body
