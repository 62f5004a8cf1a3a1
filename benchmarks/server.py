"""A real ``kogner serve`` process on a free loopback port, for the server benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: str, threads: int, *options: str) -> tuple[subprocess.Popen, str]:
    """Start ``kogner serve --model MODEL OPTIONS...`` with ``threads`` torch threads; return it and its URL
    once ``/ready`` answers 200 (or exit when it dies or takes over 5 minutes)."""
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "kogner", "serve", "--model", model, "--port", str(port), *options]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while True:
        try:
            if httpx.get(f"{url}/ready").status_code == 200:
                return server, url
        except httpx.TransportError:
            pass
        if time.time() > deadline or server.poll() is not None:
            server.terminate()
            raise SystemExit("server did not become ready")
        time.sleep(0.2)
