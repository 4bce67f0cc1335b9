"""`python -m frontend`: the front end's process (what `assistant serve frontend` runs).

gevent patches the standard library before anything else is imported, so that sockets,
locks and sleeps cooperate; it is done here, in the process entry point only, never when
the package is imported (the orchestrator's processes and tests stay unpatched).
"""

from gevent import monkey

monkey.patch_all()

from frontend.serve import main  # noqa: E402 - after the patching, on purpose

main()
