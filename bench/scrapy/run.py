#!/usr/bin/env python3
"""The Scrapy baseline in one command: danawa-sim and SecantusDB on loopback, the scrape config
pointed at the sim, the spider (danawa_spider.py) at 30 concurrent requests, then the figures:
products written, list pages, requests (the sim's /_sim/stats), wall seconds, products per
second, CPU seconds of the spider and of SecantusDB.

    .venv-scrapy/bin/python bench/scrapy/run.py [--products 268] [--concurrency 30]
        [--latency none|fixed:1750|...] [--runs N] [--check-truth]

The sim gets the arguments pipeline-bench gives it (bench/src/stack.rs start_sim: --products N
--max-variants 4 --latency SPEC --log-capacity 1000000, empty environment); SecantusDB is
started as the test harness starts it for pipeline-bench (test-harness/src/lib.rs:
secantusd-py --host 127.0.0.1 --port P --storage-path DIR --log-level WARNING
--enable-test-commands, on disk, no auth, in its own working directory); the config is
deploy/scrapConfig.json with pageBaseUrl and itemBaseUrl on the sim (bench/src/workload.rs
write_config). Every run starts a fresh sim and a fresh, empty database, like pipeline-bench.
Everything started here is stopped, and the temp directory removed, on the way out (also on
Ctrl-C or SIGTERM; the children also get SIGKILL should this process die).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SPIDER = HERE / "danawa_spider.py"
CLK_TCK = os.sysconf("SC_CLK_TCK")
DATABASE = "electrokerot"
START_LIMIT = 60.0
ENDPOINTS = ["list_page", "list_ajax", "product_page", "spec_ajax", "mall_ajax", "robots"]

_libc = ctypes.CDLL(None, use_errno=True)


def _child_setup():
    """In the child: its own process group (Ctrl-C reaches only us; we stop it), and SIGKILL
    when this process dies (PR_SET_PDEATHSIG), as the test harness does."""
    os.setpgrp()
    _libc.prctl(1, signal.SIGKILL, 0, 0, 0)


class Stop(Exception):
    pass


def _on_sigterm(signum, frame):
    raise Stop(f"signal {signum}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: bytes | None = None, timeout: float = 30.0) -> bytes:
    request = urllib.request.Request(url, data=body, method=method)
    # Loopback only: never through a proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=timeout) as response:
        return response.read()


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process and its live descendants, from /proc/PID/stat."""
    total = 0.0
    for p in [pid] + descendants(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
        except (OSError, IndexError, ValueError):
            pass
    return total


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


class Proc:
    """A child process with its log, stopped with SIGTERM then SIGKILL."""

    def __init__(self, name: str, argv: list[str], log: Path, cwd: Path, env: dict | None, quiet: bool = True):
        self.name = name
        self.log = log
        out = open(log, "wb") if quiet else None
        try:
            self.popen = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT if quiet else None,
                stdin=subprocess.DEVNULL, preexec_fn=_child_setup,
            )
        finally:
            if out is not None:
                out.close()
        self.pid = self.popen.pid
        self.rusage = None

    def exited(self) -> bool:
        return self.popen.poll() is not None

    def wait_with_rusage(self):
        """Reaps the child (os.wait4): its exit code and its own CPU seconds, which /proc no
        longer has once it is gone."""
        _, status, rusage = os.wait4(self.pid, 0)
        self.popen.returncode = os.waitstatus_to_exitcode(status)
        self.rusage = rusage
        return self.popen.returncode, rusage.ru_utime + rusage.ru_stime

    def stop(self, grace: float = 10.0):
        if self.popen.returncode is not None or self.exited():
            return
        try:
            os.killpg(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait()

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def wait_until(what: str, proc: Proc, check, limit: float = START_LIMIT):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.exited():
            raise RuntimeError(f"{what} exited during start-up:\n{proc.tail()}")
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready within {limit:.0f} s:\n{proc.tail()}")


def find_secantusd(given: str | None) -> str:
    for candidate in [given, os.environ.get("EK_SECANTUSD"), REPO / ".venv/bin/secantusd-py",
                      Path(sys.executable).parent / "secantusd-py"]:
        if candidate and Path(candidate).is_file():
            return str(candidate)
    found = shutil.which("secantusd-py")
    if found:
        return found
    sys.exit("secantusd-py not found: run `make setup` (SecantusDB into ./.venv) or pass --secantusd")


def start_sim(args, work: Path, procs: list) -> tuple[Proc, str]:
    binary = Path(args.bin_dir) / "danawa-sim"
    if not binary.is_file():
        sys.exit(f"{binary} is missing: build it with `cargo build --release -p danawa-sim`")
    latency = "none" if args.latency in ("0", "none", "zero") else args.latency
    for _ in range(5):
        port = free_port()
        argv = [str(binary), "serve", "--addr", f"127.0.0.1:{port}", "--products", str(args.products),
                "--max-variants", str(args.max_variants), "--latency", latency, "--log-capacity", "1000000"]
        sim = Proc("danawa-sim", argv, work / "danawa-sim.log", work, env={})
        procs.append(sim)
        origin = f"http://127.0.0.1:{port}"
        time.sleep(0.05)
        if sim.exited():
            continue
        wait_until("danawa-sim", sim, lambda: http("GET", f"{origin}/_sim/stats", timeout=2) is not None)
        return sim, origin
    raise RuntimeError(f"danawa-sim did not start:\n{sim.tail()}")


def start_secantus(args, work: Path, procs: list) -> tuple[Proc, str]:
    program = find_secantusd(args.secantusd)
    data = work / "mongo-data"
    home = work / "mongo"
    home.mkdir()
    for _ in range(5):
        port = free_port()
        argv = [program, "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(data),
                "--log-level", "WARNING", "--enable-test-commands"]
        # Its own working directory: it reads ./secantusd.toml when there is one.
        db = Proc("secantusd-py", argv, home / "secantusd-py.log", home, env=None)
        procs.append(db)
        time.sleep(0.05)
        if db.exited():
            continue
        uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"

        def ping():
            import pymongo

            client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=1000)
            try:
                client.admin.command("ping")
                return True
            finally:
                client.close()

        wait_until("secantusd-py", db, ping)
        return db, uri
    raise RuntimeError(f"secantusd-py did not start:\n{db.tail()}")


def write_config(source: Path, origin: str, work: Path) -> Path:
    config = json.loads(source.read_text(encoding="utf-8"))
    config["pageBaseUrl"] = f"{origin}/list/?cate="
    config["itemBaseUrl"] = f"{origin}/info/?pcode="
    path = work / "scrapConfig.bench.json"
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def check_truth(origin: str, config: Path, uri: str) -> dict:
    """The stored parts against the sim's ground truth, as pipeline-bench --check-truth does."""
    import pymongo

    truth = json.loads(http("POST", f"{origin}/_sim/truth", config.read_bytes(), timeout=120))
    client = pymongo.MongoClient(uri)
    try:
        stored = {d["pcode"]: d for d in client[DATABASE]["parts"].find({}, {"_id": 0})}
    finally:
        client.close()
    fields = ["category", "name", "variants", "isVariant", "sortOrder", "stock", "details", "vendors", "prices",
              "isUpdating"]
    defaults = {"details": {}, "vendors": {"openMarket": [], "mall": [], "credit": [], "cash": []}, "prices": [],
                "isUpdating": False}
    differing: dict[str, int] = {}
    example: dict[str, str] = {}
    missing = differ = 0
    wanted = {p["pcode"]: p for p in truth}
    for pcode, want in wanted.items():
        got = stored.get(pcode)
        if got is None:
            missing += 1
            continue
        # Timestamps aside: the truth has none.
        got = {**got, "prices": [{"price": p["price"]} for p in got.get("prices", [])]}
        bad = [f for f in fields if got.get(f, defaults.get(f)) != want.get(f, defaults.get(f))]
        differ += bool(bad)
        for f in bad:
            differing[f] = differing.get(f, 0) + 1
            example.setdefault(f, f"pcode {pcode}: stored {got.get(f)!r:.300} / truth {want.get(f)!r:.300}")
    return {
        "truth_parts": len(truth),
        "differing": differ,
        "differing_fields": differing,
        "examples": example,
        "missing": missing,
        "extra": sum(1 for p in stored if p not in wanted),
    }


def one_run(args, index: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="scrapy-bench-"))
    procs: list[Proc] = []
    try:
        sim, origin = start_sim(args, work, procs)
        db, uri = start_secantus(args, work, procs)
        config = write_config(Path(args.config), origin, work)
        stats_file = work / "spider-stats.json"
        argv = [sys.executable, "-m", "scrapy", "runspider", str(SPIDER),
                "-a", f"config={config}", "-a", f"stats_file={stats_file}",
                "-s", f"MONGODB_URI={uri}", "-s", "LOG_LEVEL=INFO",
                "-s", f"CONCURRENT_REQUESTS={args.concurrency}",
                "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={args.concurrency}",
                "-s", f"DANAWA_BATCH_SIZE={args.batch_size}",
                "-s", f"DANAWA_DB_WRITERS={args.db_writers}"]
        if args.list_writes:
            argv += ["-s", "DANAWA_LIST_WRITES=1"]
        if args.all_indexes:
            argv += ["-s", "DANAWA_ALL_INDEXES=1"]
        for setting in args.set:
            argv += ["-s", setting]
        db_cpu_before = cpu_seconds(db.pid)
        sim_cpu_before = cpu_seconds(sim.pid)
        # The counters cover the spider's run only (pipeline-bench resets just before the producer).
        http("POST", f"{origin}/_sim/reset")
        started = time.monotonic()
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # no __pycache__ beside the spider
        spider = Proc("scrapy", argv, work / "spider.log", work, env=env, quiet=not args.verbose)
        procs.append(spider)
        code, spider_cpu = spider.wait_with_rusage()
        process_wall = time.monotonic() - started
        db_cpu = cpu_seconds(db.pid)
        sim_cpu = cpu_seconds(sim.pid)
        if code != 0:
            raise RuntimeError(f"the spider exited with {code}:\n{spider.tail()}")
        sim_stats = json.loads(http("GET", f"{origin}/_sim/stats"))
        spider_stats = json.loads(stats_file.read_text(encoding="utf-8"))
        s = spider_stats["stats"]
        import pymongo

        client = pymongo.MongoClient(uri)
        try:
            docs = client[DATABASE]["parts"].count_documents({})
        finally:
            client.close()
        truth = check_truth(origin, config, uri) if args.check_truth else None
        crawl_wall = spider_stats["t_end"] - spider_stats["t_start"]
        products = int(s.get("danawa/products", 0))
        result = {
            "run": index,
            "products": products,
            "discontinued": int(s.get("danawa/discontinued", 0)),
            "docs": docs,
            "list_pages": int(s.get("danawa/list_pages", 0)),
            "category_pages": int(s.get("danawa/category_pages", 0)),
            "requests": sim_stats["requests"],
            "by_endpoint": sim_stats["by_endpoint"],
            "by_status": sim_stats["by_status"],
            "bytes_sent": sim_stats["bytes_sent"],
            "peak_concurrency": sim_stats["peak_concurrency"],
            "scrapy_requests": int(s.get("downloader/request_count", 0)),
            "db_upserts": int(s.get("danawa/db_upserts", 0)),
            "db_batches": int(s.get("danawa/db_batches", 0)),
            "rank_updates": int(s.get("danawa/rank_updates", 0)),
            "errors": int(s.get("log_count/ERROR", 0)),
            "crawl_wall": crawl_wall,
            "process_wall": process_wall,
            "products_per_sec": products / crawl_wall if crawl_wall > 0 else 0.0,
            "products_per_sec_process": products / process_wall if process_wall > 0 else 0.0,
            "spider_cpu": spider_cpu,
            "secantus_cpu": db_cpu - db_cpu_before,
            "secantus_cpu_total": db_cpu,
            "sim_cpu": sim_cpu - sim_cpu_before,
            "truth": truth,
            "work_dir": str(work) if args.keep else None,
        }
        return result
    finally:
        for proc in reversed(procs):
            proc.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def report(r: dict, args) -> str:
    ep = r["by_endpoint"]
    endpoints = ", ".join(f"{k} {ep[k]:,}" for k in ENDPOINTS if k in ep)
    endpoints += "".join(f", {k} {v:,}" for k, v in ep.items() if k not in ENDPOINTS)
    per_product = r["requests"] / r["products"] if r["products"] else 0.0
    lines = [
        f"run {r['run']}: {args.products} products per category, {args.concurrency} concurrent requests, "
        f"latency {args.latency}, {args.db_writers} writer thread(s), batches of {args.batch_size}"
        + (", list writes" if args.list_writes else "") + (", all indexes" if args.all_indexes else "")
        + "".join(f", {setting}" for setting in args.set),
        f"  products written     {r['products']:,} ({r['discontinued']} discontinued); parts documents {r['docs']:,}",
        f"  list pages           {r['list_pages']:,} (category pages {r['category_pages']})",
        f"  HTTP requests (sim)  {r['requests']:,} ({endpoints}); {per_product:.2f} per product; "
        f"status {r['by_status']}; peak in flight {r['peak_concurrency']}",
        f"  DB writes            {r['db_upserts']:,} upserts in {r['db_batches']:,} bulk_writes "
        f"({r['rank_updates']} sortOrder updates)",
        f"  wall                 {r['crawl_wall']:.2f} s crawl (first request to last write); "
        f"{r['process_wall']:.2f} s with Scrapy's start-up",
        f"  products per second  {r['products_per_sec']:.1f} ({r['products_per_sec_process']:.1f} on the process wall)",
        f"  CPU s                spider {r['spider_cpu']:.1f} ({r['spider_cpu'] / r['process_wall']:.2f} core), "
        f"SecantusDB {r['secantus_cpu']:.1f} during the run ({r['secantus_cpu_total']:.1f} since its start), "
        f"danawa-sim {r['sim_cpu']:.1f}",
        f"  errors logged        {r['errors']}",
    ]
    if r["truth"] is not None:
        t = r["truth"]
        fields = f" {t['differing_fields']}" if t["differing_fields"] else ""
        lines.append(f"  truth check          {t['truth_parts']:,} parts in the truth: {t['differing']} differ{fields}, "
                     f"{t['missing']} missing, {t['extra']} extra")
        for field, text in t["examples"].items():
            lines.append(f"    {field}: {text}")
    if r["work_dir"]:
        lines.append(f"  kept                 {r['work_dir']}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=268, help="list entries per category in the sim (268)")
    parser.add_argument("--concurrency", type=int, default=30, help="CONCURRENT_REQUESTS (30)")
    parser.add_argument("--latency", default="none",
                        help="the sim's --latency spec: none (default), fixed:MS, uniform:MIN-MAX, "
                             "longtail:MEDIAN:SIGMA:MAX")
    parser.add_argument("--runs", type=int, default=1, help="repeat to show the spread (1)")
    parser.add_argument("--max-variants", type=int, default=4, help="the sim's --max-variants (4, as pipeline-bench)")
    parser.add_argument("--batch-size", type=int, default=10, help="upserts per bulk_write (10)")
    parser.add_argument("--db-writers", type=int, default=2,
                        help="writer threads (2, as the pipeline's 2 updaters); 0 = synchronous in process_item")
    parser.add_argument("--list-writes", action="store_true",
                        help="also upsert every listed variant at list time, as the pipeline's list results do")
    parser.add_argument("--all-indexes", action="store_true",
                        help="also create the pipeline's {category, sortOrder} and {isUpdating, updatedAt} indexes")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="another Scrapy setting for the spider (-s), e.g. CONCURRENT_ITEMS=10; repeatable")
    parser.add_argument("--check-truth", action="store_true",
                        help="compare every parts document with the sim's ground truth (/_sim/truth) afterwards")
    parser.add_argument("--config", default=str(REPO / "deploy/scrapConfig.json"), help="scrape config")
    parser.add_argument("--bin-dir", default=str(REPO / "target/release"), help="where danawa-sim is")
    parser.add_argument("--secantusd", help="secantusd-py to run (default: $EK_SECANTUSD, ./.venv/bin, PATH)")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (logs, database)")
    parser.add_argument("--verbose", action="store_true", help="show the spider's log instead of keeping it")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON lines")
    args = parser.parse_args()
    try:
        import pymongo  # noqa: F401
        import scrapy  # noqa: F401
    except ImportError as e:
        sys.exit(f"{e}: run this with the interpreter of a venv holding bench/scrapy/requirements.txt "
                 "(see bench/scrapy/README.md)")
    signal.signal(signal.SIGTERM, _on_sigterm)
    results = []
    try:
        for i in range(1, args.runs + 1):
            r = one_run(args, i)
            results.append(r)
            print(json.dumps(r, ensure_ascii=False) if args.json else report(r, args), flush=True)
    except (KeyboardInterrupt, Stop) as e:
        print(f"stopped: {e or 'interrupted'}", file=sys.stderr)
        return 130
    except RuntimeError as e:
        print(f"failed: {e}", file=sys.stderr)
        return 1
    if len(results) > 1 and not args.json:
        rates = [r["products_per_sec"] for r in results]
        walls = [r["crawl_wall"] for r in results]
        print(f"{len(results)} runs: products per second mean {statistics.mean(rates):.1f}, "
              f"min {min(rates):.1f}, max {max(rates):.1f}"
              + (f", stdev {statistics.stdev(rates):.1f}" if len(rates) > 1 else "")
              + f"; crawl wall {min(walls):.2f}-{max(walls):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
