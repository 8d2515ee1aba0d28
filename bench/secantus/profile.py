#!/usr/bin/env python3
"""SecantusDB with CPU time per command and per statement shape: where the database's time goes.

Run a benchmark with it in place of secantusd-py (the venv's python first on PATH):

    PATH=$PWD/.venv/bin:$PATH EK_SECANTUSD=$PWD/bench/secantus/profile.py \
        target/release/pipeline-bench --crawlers 10 --concurrency 3 --products 268 --latency 0

Every 2 s it writes $SECANTUS_PROFILE (default /tmp/secantus-profile.txt): thread CPU seconds,
count and mean per command and per filter/update shape, largest first. Slows the server down
by about a third; compare shapes within one profile, not its wall time with a plain run.
"""
import os
import sys, threading, time, re, collections, atexit, signal
import secantus.storage as s
import secantus.commands as c
stats = collections.defaultdict(lambda: [0, 0.0])
lock = threading.Lock()
def shape(v):
    if isinstance(v, dict):
        return "{" + ",".join(k + (":" + shape(x) if isinstance(x, dict) else "") for k, x in v.items()) + "}"
    return ""
def wrap(name, fn, key):
    def w(self, *a, **k):
        t0 = time.thread_time()
        try: return fn(self, *a, **k)
        finally:
            d = time.thread_time() - t0
            with lock:
                e = stats[(name, key(a, k))]; e[0] += 1; e[1] += d
    return w
s.Storage.update_matching = wrap("update", s.Storage.update_matching, lambda a, k: shape(a[2]) + " u=" + shape(a[3]) + (" multi" if k.get("multi") else "") + (" upsert" if k.get("upsert") else ""))
s.Storage.find_matching = wrap("find", s.Storage.find_matching, lambda a, k: shape(a[2]) if len(a) > 2 else shape(k.get("filter")))
odisp = c.dispatch
def disp(*a, **k):
    t0 = time.thread_time()
    try: return odisp(*a, **k)
    finally:
        d = time.thread_time() - t0
        doc = a[0] if a else None
        name = next(iter(doc)) if isinstance(doc, dict) and doc else "?"
        with lock:
            e = stats[("CMD", name)]; e[0] += 1; e[1] += d
c.dispatch = disp
import secantus.server as srv
srv.dispatch = disp
def dump(*_):
    with open(os.environ.get('SECANTUS_PROFILE', '/tmp/secantus-profile.txt'), 'w') as f:
        for (kind, key), (n, secs) in sorted(stats.items(), key=lambda kv: -kv[1][1]):
            f.write(f"{secs:8.3f}s {n:7d} {secs/n*1e3:8.3f}ms  {kind} {key[:200]}\n")
def loop():
    while True:
        time.sleep(2); dump()
threading.Thread(target=loop, daemon=True).start()
from secantus.cli import main
sys.argv[0] = re.sub(r'(-script\.pyw|\.exe)?$', '', sys.argv[0])
sys.exit(main())
