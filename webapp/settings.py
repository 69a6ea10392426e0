"""The server's limits: a dataclass without web dependencies, so the CLI derives the
`vocals2song serve` flags from it without importing FastAPI (an optional extra)."""

from __future__ import annotations

import dataclasses
import urllib.parse

from vocals2song import audio


def _origins(text: str) -> tuple[str, ...]:
    return tuple(filter(None, (origin.strip() for origin in text.split(","))))


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Limits of the server (the `vocals2song serve` flags).

    ``allowed_origins`` are origins besides this server's own (``http://host:port``) whose
    pages may submit jobs and whose host names requests may carry: a browser sends any page's
    form POST to 127.0.0.1 without asking, and a DNS-rebinding page reaches it under its own
    host name, so both headers are checked.

    Attributes:
      workers: jobs generated at the same time (one model, shared).
      max_queued: jobs that may wait; more get HTTP 503.
      max_upload_mb: largest upload accepted.
      max_seconds: longest vocal accepted.
      keep_minutes: results are deleted this long after a job.
      host: address to bind (0.0.0.0 exposes it to the network).
      port: TCP port.
      allowed_origins: comma-separated origins (e.g. https://music.example.org) whose pages may
        submit jobs, besides this server's own; their host names are accepted in the Host header
        (needed behind a proxy or with --host 0.0.0.0).
    """

    workers: int = 1
    max_queued: int = 4
    max_upload_mb: float = 50.0
    max_seconds: float = 600.0
    keep_minutes: float = 60.0
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_origins: tuple[str, ...] = dataclasses.field(default=(), metadata={"parse": _origins})

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1e6)

    @property
    def limits(self) -> audio.AudioLimits:
        return audio.vocal_limits(self.max_seconds)

    @property
    def allowed_hosts(self) -> frozenset[str]:
        """Host names a request may be addressed to (the Host header, without the port)."""
        named = {urllib.parse.urlsplit(origin).hostname for origin in self.allowed_origins}
        return frozenset({*LOOPBACK_NAMES, self.host, *named} - {None})
