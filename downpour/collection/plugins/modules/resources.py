#!/usr/bin/python
# Licensed under the Apache License, Version 2.0.
#
# The module the playbook of ``downpour export`` runs: its documentation,
# its arguments, and a call into the import engine (module_utils/importer,
# downpour/importer in downpour's source), where everything else is.

DOCUMENTATION = r'''
---
module: resources
short_description: Create in the target what downpour exported, in one session
description:
  - Takes the resources that C(downpour export) wrote into the playbook,
    lists each of their types once in the target project, and creates or
    corrects only what is missing or different, each type as its import
    home in the engine says (module_utils/importer, one module per type).
  - A target resource is this import's own only when the journal records
    it for that source ID.  A name that matches proves nothing; the import
    creates its own resource beside it and says so (I(name_clash)).  What
    is not this import's own is never changed, narrowed or deleted.
  - What a tenant cannot create (flavors, the external and shared
    networks, volume types, availability zones) is chosen among what the
    target has (see I(flavor_map), I(network_map), I(volume_type_map) and
    I(az_map)); each choice is reported in C(choices), and what has no
    match in C(missing) and C(unmatched).
  - Every resource created is appended to the journal, with fsync, the
    moment it exists, so an interrupted run creates nothing twice.
    I(uuids_csv) is then written from the journal, one row per source ID.
  - In check mode nothing in the cloud is changed; C(pending) lists what a
    real run would create or correct, and C(clashes) the names the target
    already uses.
options:
  resources:
    description: The exported resources, each a dict with C(type), C(id)
      (its key, the ID in the source, or one downpour chose), C(name) and
      what its type needs.
    type: list
    elements: dict
    required: true
  ids:
    description: Target IDs of resources handled before, by key.
    type: dict
    default: {}
  journal:
    description: The import's own record of what it created (or reused,
      or adopted), read at the start and appended to as it goes.
    type: path
  uuids_csv:
    description: The map of source ID to target ID for people and
      scripts, rewritten from the journal when it differs.
    type: path
  addresses_csv:
    description: The table of each floating IP's old address and new
      address (with its fixed IP and the target port), rewritten when it
      differs.
    type: path
  name_clash:
    description:
      - What to do when the target has a resource of an exported one's
        name that this import did not make.
      - C(create) makes a new one beside it (the default).
      - C(stop) stops before anything is created (the playbook stops on
        the C(clashes) the first, check-mode task returned).
      - C(adopt) takes the same-named resource when it is proven
        equivalent (subnet CIDR, IP version and gateway; a network whose
        subnets all are; a router with the same gateway and interfaces;
        an image with the same checksum; a security group with exactly
        the exported rules), and else makes a new one.  Volumes, ports,
        servers, server groups, Barbican secrets and containers are never
        adopted.
    type: str
    choices: [create, stop, adopt]
    default: create
  widen_default_group:
    description:
      - Whether the source's default security group's rules may be added
        to the target project's own default group when ports this import
        did not make are in it.
      - Without it, such a project's default group is left as it is, and
        a group of the import's own, C(default-<source ID>-downpour),
        takes the rules and the group's place on the imported ports.  A
        default group that already has the rules, or that no other port
        is in, is taken as it is (and gains what it lacks).
    type: bool
    default: false
  source_project:
    description:
      - The cloud and project the export read (C(project_id), C(host),
        C(project_name)).  When the target is that same project (the
        same project ID), the module fails before it looks at anything,
        naming it, unless I(allow_source_project) is true.
    type: dict
    default: {}
  allow_source_project:
    description: Import into the project the export read, on purpose.
    type: bool
    default: false
  network_map:
    description: Target network name by source network name, for the
      external (or shared) networks of the source, which are not created
      but found.
    type: dict
    default: {}
  flavor_map:
    description: Target flavor name by source flavor name; flavors are not
      created but chosen.
    type: dict
    default: {}
  volume_type_map:
    description: Target volume type name by source volume type name; types
      are not created but chosen.  Without an entry, the type of the same
      name, else the target's default; an empty name asks for the default.
    type: dict
    default: {}
  az_map:
    description: Target availability zone by source zone, for servers
      (Nova's zones) and volumes (Cinder's).  Without an entry, the zone of
      the same name, else none is asked for (the target's default); an
      empty name asks for the default.
    type: dict
    default: {}
  lb_flavor_map:
    description: Target Octavia flavor by source flavor name, for load
      balancers.  Without an entry, the flavor of the same name, else the
      target's default; an empty name asks for the default.
    type: dict
    default: {}
  lb_az_map:
    description: Target Octavia availability zone by source zone, for load
      balancers.  Without an entry, the zone of the same name, else the
      target's default; an empty name asks for the default.
    type: dict
    default: {}
  swift_policy_map:
    description: Target Swift storage policy by source policy name, for
      containers.  Without an entry, the policy of the same name, else the
      target's default; an empty name asks for the default.
    type: dict
    default: {}
  replace_stale:
    description:
      - Whether a server or volume (or a server's disk image) this import
        made from an older capture than the one its item carries
        (C(captured_at)) is made again from the item's.  A volume is made
        anew and put on its server in the place of the old one, which is
        then deleted; a server is deleted (its volumes kept) and booted
        anew on the same ports.  Each is said in C(created), with
        C(replaced), the ID it replaced.
      - Without it, such a resource is named in C(stale), and a real run
        stops on it before changing it.  A journal row of an earlier
        downpour, which does not say its capture, counts as stale.
    type: bool
    default: false
  secret_payloads:
    description:
      - The Barbican secrets' payloads by key, each a dict with
        C(payload_b64) (the bytes, base64) and C(content_type), as the
        playbook reads them from C(secrets.vault.yml), encrypted with
        Ansible Vault (run with C(--vault-password-file) or
        C(--ask-vault-pass)).
      - Never logged, shown or returned; only needed when a secret is to
        be made.
    type: dict
    default: {}
  parallel:
    description:
      - Resources in the works at a time for each service (the networks,
        routers, groups and ports; the image uploads; the volumes; the
        server groups and servers).  Each waits only for those it needs, a
        server for its own image, volumes, ports and group.
    type: int
    default: 4
extends_documentation_fragment:
  - openstack.cloud.openstack
'''

RETURN = r'''
ids:
  description: Target ID by key of every resource found or created.
  type: dict
  returned: always
pending:
  description: Keys of the resources a run would create or correct.
  type: list
  returned: always
pending_types:
  description: The types of the pending resources.
  type: list
  returned: always
created:
  description: One dict (type, name, old, new) per resource created, in
    the order of the resources given; one made again from a newer
    capture also has replaced (the target ID it replaced), was_captured
    and captured (the capture times).
  type: list
  returned: always
clashes:
  description: One line per exported resource whose name the target
    already uses for a resource this import did not make, saying what
    the import does about it.
  type: list
  returned: always
orphans:
  description: Keys of the items left out because no other item refers
    to them any more (their referrers were taken out of the playbook by
    hand) and their type is only there for others (a server's capture,
    flavor or group, a volume's type).
  type: list
  returned: always
missing:
  description: The flavors, external networks, volume types and zones the
    target lacks (their C(id) in I(resources)).
  type: list
  returned: always
choices:
  description: One line per volume type and availability zone, saying
    what the target's is and why.
  type: list
  returned: always
stale:
  description: One line per resource this import made from an older
    capture than the one exported, with both capture times.
  type: list
  returned: always
unmatched:
  description: One line per volume type or availability zone whose map
    entry names what the target lacks.
  type: list
  returned: always
addresses:
  description: One dict (old_address, new_address, fixed_ip, port, old,
    new) per floating IP found or made.
  type: list
  returned: always
'''


# Ansible's layout: the documentation strings come first.
# One line each: Ansible recognises a module and the module_utils to ship
# with it by these imports.
from ansible_collections.downpour.migrate.plugins.module_utils.importer import run_module  # noqa: E402, E501
from ansible_collections.openstack.cloud.plugins.module_utils.openstack import OpenStackModule  # noqa: E402, E501


class DownpourResources(OpenStackModule):
    argument_spec = {
        'resources': {'type': 'list', 'elements': 'dict', 'required': True},
        'ids': {'type': 'dict', 'default': {}},
        'journal': {'type': 'path'},
        'uuids_csv': {'type': 'path'},
        'addresses_csv': {'type': 'path'},
        'name_clash': {'type': 'str', 'default': 'create',
                       'choices': ['create', 'stop', 'adopt']},
        'widen_default_group': {'type': 'bool', 'default': False},
        'replace_stale': {'type': 'bool', 'default': False},
        'source_project': {'type': 'dict', 'default': {}},
        'allow_source_project': {'type': 'bool', 'default': False},
        'network_map': {'type': 'dict', 'default': {}},
        'flavor_map': {'type': 'dict', 'default': {}},
        'volume_type_map': {'type': 'dict', 'default': {}},
        'az_map': {'type': 'dict', 'default': {}},
        'lb_flavor_map': {'type': 'dict', 'default': {}},
        'lb_az_map': {'type': 'dict', 'default': {}},
        'swift_policy_map': {'type': 'dict', 'default': {}},
        'parallel': {'type': 'int', 'default': 4},
        # Ansible masks it in -vvv's invocation and in anything returned.
        'secret_payloads': {'type': 'dict', 'default': {}, 'no_log': True},
    }
    module_kwargs = {'supports_check_mode': True}

    def run(self):
        failed, result = run_module(self.conn, self.params, self.check_mode,
                                    self.ansible.warn)
        if failed is not None:
            self.fail_json(msg=failed, **result)
        self.exit_json(**result)


def main():
    DownpourResources()()


if __name__ == '__main__':
    main()
