"""A load client that costs the server nothing: pre-built bodies, keep-alive, its own processes.

Each connection is a forked process that holds its request bodies, already encoded, before the
clock starts, and sends them in order over one keep-alive `http.client` connection, as one
tablet sends its batches. Timing starts when every process is connected and waiting, and stops
when the last one is done. A process that dies, or an answer other than 200 (after retrying a
429 or 503 a bounded number of times), fails the run: the caller's figures would be a lie.
"""

from __future__ import annotations

import http.client
import multiprocessing
import queue
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

# A tablet retries a busy answer; the bench does too, but not forever.
MAX_RETRIES = 50
RETRY_PAUSE = 0.05


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class LoadResult:
    seconds: float
    requests: int
    retries: int
    latencies: list[float]

    def latency_ms(self, share: float) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=100)[int(share * 100) - 1] * 1000


class ClientDied(RuntimeError):
    """A load process failed: the run measured nothing trustworthy."""


def _send_all(
    port: int,
    requests: Sequence[Request],
    ready: multiprocessing.synchronize.Barrier,
    results: multiprocessing.queues.Queue,
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.connect()
    latencies: list[float] = []
    retries = 0
    ready.wait()
    for request in requests:
        for _attempt in range(MAX_RETRIES + 1):
            started = time.perf_counter()
            connection.request("POST", request.path, request.body, request.headers)
            answer = connection.getresponse()
            content = answer.read()
            if answer.status == 200:
                latencies.append(time.perf_counter() - started)
                break
            if answer.status not in (429, 503):
                raise ClientDied(f"HTTP {answer.status} from {request.path}: {content[:300]!r}")
            retries += 1
            time.sleep(RETRY_PAUSE)
        else:
            raise ClientDied(f"still busy after {MAX_RETRIES} retries")
    connection.close()
    results.put((retries, latencies))


def run_load(port: int, per_connection: Sequence[Sequence[Request]]) -> LoadResult:
    """Send each list of requests over its own connection, all at once; time the whole."""
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(len(per_connection) + 1)
    results = context.Queue()
    processes = [
        context.Process(target=_send_all, args=(port, requests, ready, results), daemon=True)
        for requests in per_connection
    ]
    for process in processes:
        process.start()
    ready.wait(timeout=120)
    started = time.perf_counter()
    outcomes: list[tuple[int, list[float]]] = []
    deadline = time.monotonic() + 1800
    while len(outcomes) < len(processes):
        try:
            outcomes.append(results.get(timeout=1))
        except queue.Empty:
            if any(process.exitcode not in (None, 0) for process in processes):
                _stop(processes)
                raise ClientDied(
                    f"exit codes {[process.exitcode for process in processes]}"
                ) from None
            if time.monotonic() > deadline:
                _stop(processes)
                raise ClientDied("the load did not finish in 30 minutes") from None
    seconds = time.perf_counter() - started
    for process in processes:
        process.join(timeout=30)
    return LoadResult(
        seconds=seconds,
        requests=sum(len(requests) for requests in per_connection),
        retries=sum(retries for retries, _ in outcomes),
        latencies=[latency for _, latencies in outcomes for latency in latencies],
    )


def _stop(processes: Sequence[multiprocessing.process.BaseProcess]) -> None:
    for process in processes:
        if process.is_alive():
            process.kill()
        process.join(timeout=10)
