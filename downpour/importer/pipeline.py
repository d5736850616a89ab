"""The overlapped work of a real run: each resource once what it needs
has ended, at most ``parallel`` at a time in each service's lane."""

import collections
import concurrent.futures

from .kind import ImportFailed, describe


class Pipeline:
    """The work of the overlapped kinds of a task (networks, subnets,
    routers, groups and their rules, ports; uploads; volumes; server
    groups, servers): each item's work starts once the work of every
    resource it needs (``Kind.needs``) has ended, in the order the kinds
    come, at most ``parallel`` at a time in each lane (``Kind.lane``, the
    service doing the work).  A server thus waits for its own image,
    volumes, ports and group, not for every upload, and an upload does not
    wait behind the network's calls.  Every item is tried; one that fails
    stops only what needs it, and the error names them all."""

    def __init__(self, parallel):
        self.parallel = max(1, int(parallel))
        self.jobs = []

    def add(self, item, needs, work, key=None, lane=None):
        """``work`` for ``item``, once the jobs of the keys ``needs`` have
        ended; the job's own key is the item's, or ``key`` for a second
        step of it (a group's rules)."""
        self.jobs.append((key or item['id'], item, tuple(needs), work, lane))

    def run(self):
        jobs, self.jobs = self.jobs, []
        if not jobs:
            return
        keys = {job[0] for job in jobs}
        # Failures by the job's place in the list: named in the export's
        # order, whichever ended first.
        done, failed, failures = set(), {}, {}
        # Failures of the jobs skipped for another's, named after it.
        skipped = set()
        order = {job[0]: n for n, job in enumerate(jobs)}
        waiting = list(jobs)
        running = {}
        busy = collections.Counter()

        def start_what_can(pool):
            moved = True
            while moved:  # a failure may stop a chain of items
                moved = False
                for job in list(waiting):
                    key, item, needs, work, lane = job
                    blocked = [k for k in needs
                               if k in keys and k not in done and k != key]
                    lost = [k for k in blocked if k in failed]
                    if lost:
                        waiting.remove(job)
                        failed[key] = describe(item)
                        failures[order[key]] = '%s: skipped, since %s ' \
                            'failed' % (describe(item), failed[lost[0]])
                        skipped.add(order[key])
                        moved = True
                    elif not blocked and busy[lane] < self.parallel:
                        waiting.remove(job)
                        busy[lane] += 1
                        running[pool.submit(work)] = (key, item, lane)

        lanes = len({job[4] for job in jobs})
        with concurrent.futures.ThreadPoolExecutor(
                min(self.parallel * lanes, len(jobs))) as pool:
            start_what_can(pool)
            while running:
                finished, _ = concurrent.futures.wait(
                    running, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in finished:
                    key, item, lane = running.pop(future)
                    busy[lane] -= 1
                    try:
                        future.result()
                    except ImportFailed as exc:
                        # Names its item already.
                        failures[order[key]] = str(exc)
                        failed[key] = describe(item)
                    except Exception as exc:  # noqa: BLE001 - named here
                        failures[order[key]] = '%s: %s' % (describe(item),
                                                           exc)
                        failed[key] = describe(item)
                    else:
                        done.add(key)
                start_what_can(pool)
        # Left waiting: only items that need one another get here.
        for key, item, _, _, _ in waiting:
            failures[order[key]] = '%s: skipped, its dependencies form a ' \
                'cycle' % describe(item)
        if failures:
            # What failed first, in the export's order, then what was
            # skipped for it.
            raise ImportFailed('; '.join(failures[n] for n in sorted(
                failures, key=lambda n: (n in skipped, n))))
