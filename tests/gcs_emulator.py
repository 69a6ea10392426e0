"""A Google Cloud Storage API on loopback for the gs:// tests.

- gcp-storage-emulator (pure Python) serves the JSON, upload, download and batch APIs on
  127.0.0.1. gcsfs and the google-cloud-storage client (Beam's GCS file system) reach it
  through ``STORAGE_EMULATOR_HOST``.
- TensorFlow's GCS file system has its endpoints compiled in (https://www.googleapis.com,
  https://storage.googleapis.com), so a small proxy answers its ``CONNECT``, terminates TLS
  with a certificate from a test CA (trusted through ``CURL_CA_BUNDLE``) and relays the
  plain HTTP to the emulator; it also forwards plain http:// requests to those hosts, since
  the emulator names its resumable-upload URLs http://www.googleapis.com/... It also decodes
  the chunked uploads curl sends, which the emulator would store as they come.
- Both run in a process of their own (TensorFlow's checkpoint reader holds the GIL while it
  waits on the network). One emulator bug is worked around there: an empty upload (TensorFlow's
  "dir/" markers) fails in its handler.
- Credentials: a user-credentials file whose access token is valid until 2099, so Google's
  libraries find credentials the usual way (``GOOGLE_APPLICATION_CREDENTIALS``) and never
  refresh them over the network; TensorFlow takes ``GOOGLE_AUTH_TOKEN_FOR_TESTING``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator

GOOGLE_HOSTS = ("www.googleapis.com", "storage.googleapis.com", "oauth2.googleapis.com")


def write_test_ca(directory: str) -> tuple[str, str, str]:
    """A CA and a server certificate for GOOGLE_HOSTS; returns (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vocals2song test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # key_cert_sign, crl_sign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, GOOGLE_HOSTS[0])]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host) for host in GOOGLE_HOSTS]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = tuple(os.path.join(directory, name) for name in ("ca.pem", "cert.pem", "key.pem"))
    for path, data in zip(
        paths,
        (
            ca.public_bytes(serialization.Encoding.PEM),
            server.public_bytes(serialization.Encoding.PEM),
            server_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        ),
        strict=True,
    ):
        with open(path, "wb") as handle:
            handle.write(data)
    return paths


class TlsProxy:
    """A proxy for Google's hosts only, in front of ``upstream`` (host, port): it answers
    CONNECT itself (TLS in, plain HTTP out) and forwards plain http:// requests."""

    def __init__(self, upstream: tuple[str, int], cert: str, key: str):
        self.upstream = upstream
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, target, version, headers = await self._head(reader)
            if method == "CONNECT":  # https://: TLS here, then one plain HTTP request upstream
                if target.rsplit(":", 1)[0] not in GOOGLE_HOSTS:
                    return await self._refuse(writer)
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await writer.start_tls(self.context)
                method, path, version, headers = await self._head(reader)
            else:  # http://host/path: the emulator's resumable-upload URLs, which it names http://
                host, _, path = target.removeprefix("http://").partition("/")
                if not target.startswith("http://") or host.split(":")[0] not in GOOGLE_HOSTS:
                    return await self._refuse(writer)
                path = "/" + path
            await self._forward(reader, writer, f"{method} {path} {version}", headers)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    @staticmethod
    async def _head(reader: asyncio.StreamReader) -> tuple[str, str, str, list[tuple[str, str]]]:
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target, version = lines[0].split()
        headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:] if line]
        return method, target, version, headers

    async def _forward(self, reader, writer, request_line: str, headers: list[tuple[str, str]]) -> None:
        """One request, its body de-chunked (curl streams uploads with chunked transfer encoding,
        which the emulator does not decode), then the emulator's response until it closes."""
        names = {name.lower(): value for name, value in headers}
        if names.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
        if "chunked" in names.get("transfer-encoding", "").lower():
            body = b""
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += await reader.readexactly(size)
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")  # no trailers: the empty line after the last chunk
        else:
            body = await reader.readexactly(int(names.get("content-length", 0)))
        dropped = {"transfer-encoding", "expect", "connection", "content-length", "proxy-connection"}
        kept = [f"{name}: {value}" for name, value in headers if name.lower() not in dropped]
        head = "\r\n".join([request_line, *kept, f"Content-Length: {len(body)}", "Connection: close", "", ""])
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        up_writer.write(head.encode("latin-1") + body)
        await up_writer.drain()
        response = await up_reader.read()  # the emulator answers HTTP/1.0 and closes
        up_writer.close()
        writer.write(response)
        await writer.drain()

    @staticmethod
    async def _refuse(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    async def serve(self, port: int) -> None:
        server = await asyncio.start_server(self._client, "127.0.0.1", port)
        async with server:
            await server.serve_forever()


def _accept_empty_media_uploads() -> None:
    """gcp-storage-emulator reads an empty upload body as None and then fails on its length;
    real GCS stores an empty object, and TensorFlow writes such objects as folder markers
    ("dir/") when it creates a directory. Give the emulator's handler an empty body instead."""
    from gcp_storage_emulator.handlers import objects

    upload = objects._media_upload
    if getattr(upload, "accepts_empty", False):
        return

    def media_upload(request, response, storage):
        if request.data is None:
            request._data = b""
        return upload(request, response, storage)

    media_upload.accepts_empty = True
    objects._media_upload = media_upload


def serve(bucket: str, port: int, proxy_port: int, cert: str, key: str) -> None:
    """The emulator (in memory, with ``bucket``) and the proxy, until the process is stopped.

    They run in a process of their own: TensorFlow's checkpoint reader holds the GIL while it
    waits for an HTTP answer, so a server thread in the test process would never answer it.
    """
    from gcp_storage_emulator.server import create_server

    _accept_empty_media_uploads()
    # In memory: its disk store cannot hold an object "a/" beside objects "a/b" (a file and a
    # folder of one name), and TensorFlow writes both.
    create_server("127.0.0.1", port, in_memory=True, default_bucket=bucket).start()
    asyncio.run(TlsProxy(("127.0.0.1", port), cert, key).serve(proxy_port))


def _wait_for(port: int, process: subprocess.Popen, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the GCS emulator exited with code {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the GCS emulator did not listen on port {port} within {seconds:.0f} s")


@contextlib.contextmanager
def gcs_emulator(directory: str, bucket: str) -> Iterator[dict[str, str]]:
    """Starts the emulator (with ``bucket``) and the proxy in another process, and sets the
    environment every client reads; yields that environment and restores it afterwards."""
    from benchmarks.fixtures import free_ports

    port, proxy_port = free_ports(2)
    ca, cert, key = write_test_ca(directory)
    process = subprocess.Popen(
        [sys.executable, __file__, bucket, str(port), str(proxy_port), cert, key],
        stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(directory, "emulator.log"), "w"),  # open as long as the process runs
    )
    try:
        _wait_for(port, process)
        _wait_for(proxy_port, process)
    except RuntimeError:
        process.kill()
        raise
    credentials = os.path.join(directory, "credentials.json")
    with open(credentials, "w") as handle:
        json.dump(
            {
                "type": "authorized_user",
                "client_id": "test",
                "client_secret": "test",
                "refresh_token": "test",
                "token": "test-token",
                "expiry": "2099-01-01T00:00:00Z",
            },
            handle,
        )
    proxy = f"http://127.0.0.1:{proxy_port}"
    environment = {
        "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{port}",
        "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",  # else gcsfs waits 60 s on a gRPC lookup
        "NO_GCE_CHECK": "true",
        "GOOGLE_APPLICATION_CREDENTIALS": credentials,
        "GOOGLE_CLOUD_PROJECT": "vocals2song-test",
        "GOOGLE_AUTH_TOKEN_FOR_TESTING": "test-token",
        "HTTPS_PROXY": proxy,
        "https_proxy": proxy,
        "HTTP_PROXY": proxy,
        "http_proxy": proxy,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "CURL_CA_BUNDLE": ca,
    }
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        yield environment
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
