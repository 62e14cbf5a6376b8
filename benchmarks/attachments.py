"""A 100 MB attachment up and down through a real server: time, throughput and the server's memory.

    python -m benchmarks.attachments [--megabytes 100] [--s3]

The server streams bodies to storage, so its resident memory should barely move however big the file.
With ``--s3`` a second run stores the bytes in S3 (moto's S3-compatible server, a separate process).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

import boto3
import httpx

from benchmarks.support import free_port, fresh_database, print_table, process

CHUNK = b"\x5a" * (1024 * 1024)
MB = 1024 * 1024
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_DEFAULT_REGION": "us-east-1"}


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


def peak_while(pid: int, work: threading.Thread) -> int:
    peak = rss(pid)
    work.start()
    while work.is_alive():
        peak = max(peak, rss(pid))
        time.sleep(0.01)
    return max(peak, rss(pid))


def body(megabytes: int) -> Iterator[bytes]:
    for _ in range(megabytes):
        yield CHUNK


def run(label: str, megabytes: int, extra_env: dict[str, str]) -> list[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    key = "linq_sk_bench_" + os.urandom(8).hex()
    with tempfile.TemporaryDirectory() as data, fresh_database("sqlite") as url:
        env = {
            "LINQ_SERVER_DATABASE_URL": url, "LINQ_SERVER_API_KEY": key, "LINQ_SERVER_DATA_DIR": data,
            "LINQ_SERVER_LOG_LEVEL": "WARNING", **extra_env,
        }  # fmt: skip
        with process(
            ["-m", "linq_server", "serve", "--port", str(port)], f"{base}/healthz", env, start_limit=120
        ) as server:
            api = httpx.Client(base_url=f"{base}/api/partner", headers={"Authorization": f"Bearer {key}"}, timeout=600)
            size = megabytes * MB
            offer = api.post(
                "/v3/attachments", json={"filename": "f.zip", "content_type": "application/zip", "size_bytes": size}
            ).json()
            before = rss(server.pid)
            timings: dict[str, float] = {}

            def upload() -> None:
                started = time.perf_counter()
                httpx.put(
                    offer["upload_url"], content=body(megabytes), headers=offer["required_headers"], timeout=600
                ).raise_for_status()
                timings["up"] = time.perf_counter() - started

            up_peak = peak_while(server.pid, threading.Thread(target=upload))
            digest = hashlib.sha256()

            def download() -> None:
                started = time.perf_counter()
                with httpx.stream("GET", offer["download_url"], timeout=600) as response:
                    for chunk in response.iter_bytes():
                        digest.update(chunk)
                timings["down"] = time.perf_counter() - started

            down_peak = peak_while(server.pid, threading.Thread(target=download))
            assert digest.hexdigest() == hashlib.sha256(b"".join(body(megabytes))).hexdigest()
            api.close()
    return [
        label, f"{megabytes}", f"{timings['up']:.1f}", f"{megabytes / timings['up']:.0f}", f"{timings['down']:.1f}",
        f"{megabytes / timings['down']:.0f}", f"{before / MB:.1f}", f"+{(up_peak - before) / MB:.1f}",
        f"+{(down_peak - before) / MB:.1f}",
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--s3", action="store_true")
    args = parser.parse_args()
    rows = [run("local directory", args.megabytes, {})]
    if args.s3:
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env={**os.environ, **CREDENTIALS}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            for _ in range(300):
                try:
                    httpx.get(endpoint, timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                  aws_access_key_id="bench", aws_secret_access_key="bench-secret")  # fmt: skip
            client.create_bucket(Bucket="bench")
            rows.append(
                run(
                    "S3 (moto)",
                    args.megabytes,
                    {"LINQ_SERVER_STORAGE_URL": f"s3://bench/a?endpoint={endpoint}", **CREDENTIALS},
                )
            )
        finally:
            moto.terminate()
            moto.wait()
    print_table(
        "An attachment up and down through the server",
        ["storage", "MB", "upload s", "MB/s", "download s", "MB/s", "server RSS MB", "upload peak", "download peak"],
        rows,
    )


if __name__ == "__main__":
    main()
