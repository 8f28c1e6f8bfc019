"""The ingest server's gunicorn worker: uvicorn's (uvicorn_worker.UvicornWorker, one event loop per
process), ending when its master tells it to quit.

gunicorn's master answers SIGINT (Ctrl-C in a terminal, honcho stopping the Procfile) and SIGQUIT
with a quick shutdown: SIGQUIT to each worker, then SIGKILL for any still there after
graceful_timeout. uvicorn-worker's own SIGQUIT handler only clears the worker's `alive` flag, which
its uvicorn Server never reads, so the worker kept serving, was killed 10 s later and the master
logged "Worker (pid:N) was sent SIGKILL! Perhaps out of memory?". Here SIGQUIT asks the Server to
exit as Ctrl-C asks a plain uvicorn: the first stops accepting, closes idle connections and lets the
requests in flight finish (a webhook's group commit takes milliseconds, so a delivery being answered
is answered rather than cut off and sent again); a second one exits without waiting. SIGTERM keeps
uvicorn's graceful shutdown, as before."""

from __future__ import annotations

import asyncio
import signal
import sys

from gunicorn.arbiter import Arbiter
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker


class IngestWorker(UvicornWorker):
    server: Server

    def quit(self) -> None:
        """SIGQUIT: the first asks the Server to exit gracefully, a second forces it."""
        self.alive = False
        if self.server.should_exit:
            self.server.force_exit = True
        self.server.should_exit = True

    async def _serve(self) -> None:
        # uvicorn_worker.UvicornWorker._serve, keeping the Server for quit().
        self.config.app = self.wsgi
        self.server = Server(config=self.config)
        asyncio.get_running_loop().add_signal_handler(signal.SIGQUIT, self.quit)
        await self.server.serve(sockets=self.sockets)
        if not self.server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
