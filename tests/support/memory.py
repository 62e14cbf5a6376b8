"""The resident memory of another process, sampled while something runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


def rss_bytes(pid: int) -> int:
    """VmRSS of ``pid`` (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


@dataclass
class RssPeak:
    before: int
    peak: int = 0
    after: int = 0
    samples: list[int] = field(default_factory=list)

    @property
    def growth(self) -> int:
        return self.peak - self.before


@contextmanager
def peak_rss(pid: int, every_seconds: float = 0.01) -> Iterator[RssPeak]:
    """Sample ``pid``'s RSS every ``every_seconds`` until the block ends; the highest is ``peak``."""
    result = RssPeak(before=rss_bytes(pid))
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            result.samples.append(rss_bytes(pid))
            done.wait(every_seconds)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield result
    finally:
        done.set()
        sampler.join()
        result.after = rss_bytes(pid)
        result.peak = max([result.after, *result.samples])
