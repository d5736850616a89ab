"""Reading a generated playbook back in the tests."""


def all_tasks(play):
    """The play's tasks in order, those inside blocks (a volume's or a
    server's, skipped when the look found it) included."""
    for task in play['tasks']:
        if 'block' in task:
            yield from all_tasks({'tasks': task['block']})
        else:
            yield task
