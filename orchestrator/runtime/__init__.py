"""The parts put together and run: the composition root, runs, approvals, attachments.

`services.open_services` is the one composition root; the other modules use the domain's
ports and are built by it.
"""
