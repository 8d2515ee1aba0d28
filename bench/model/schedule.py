#!/usr/bin/env python3
"""What a scheduler could reach on the benchmark's workload: an event model of the fleet.

The efficiency figure of `pipeline-bench` (requests x mean latency / slots / wall) counts as
lost every slot-second without a request in flight. Part of that loss is the workload's
shape, not the crawler's scheduling: a run starts with the category pages only (their values
are needed by the list requests), then the first list pages, and item jobs exist only once a
list result went through an updater; each item is a product page and then, side by side, its
spec table and shop list. This model replays that shape with simulated time, no I/O, and
compares ways of handing requests to slots:

  held-job   today's crawler: a process reads a job while every request of its own has a
             slot, so a busy process holds one job that waits (crawler-worker/src/slots.rs)
  free-slot  a process reads a job only while one of its slots is free
  pooled     one process with every slot of the fleet and free-slot reads: no request ever
             waits behind its own process's slots while another process idles (about the
             best that moving work between processes could give; not a strict bound, as no
             policy here knows the latencies ahead and each draws its own)

Latencies: fixed 1.75 s, or the bench's long tail (lognormal, sigma 0.8, capped at 10.5 s, mean
1.75 s). Robots.txt requests (no latency in the sim, but counted by the bench) are left out.

    python3 bench/model/schedule.py            # the table of BENCHMARKS.md
    python3 bench/model/schedule.py --seeds 10
"""

import argparse
import heapq
import itertools
import math
import random

MEAN = 1.75
SIGMA = 0.8
CAP = 6 * MEAN


def longtail_median():
    """The lognormal median whose values capped at CAP have mean MEAN: the closed form and
    bisection of `longtail_median` in bench/src/latency.rs, so the model draws what the sim
    injects."""

    def phi(x):
        return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))

    def capped_mean(mu):
        ln_cap = math.log(CAP)
        below = math.exp(mu + SIGMA * SIGMA / 2.0) * phi((ln_cap - mu - SIGMA * SIGMA) / SIGMA)
        return below + CAP * (1.0 - phi((ln_cap - mu) / SIGMA))

    lo, hi = math.log(MEAN) - 10.0, math.log(CAP)
    for _ in range(200):
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if capped_mean(mid) < MEAN else (lo, mid)
    return math.exp((lo + hi) / 2.0)


def run(policy, processes, slots, latency, seed, items, list_pages, listings=54, categories=9, updater_s=0.3):
    """One run; returns (requests, wall seconds, efficiency)."""
    rng = random.Random(seed)
    if latency == "fixed":
        draw = lambda: MEAN  # noqa: E731
    else:
        median = longtail_median()
        draw = lambda: min(CAP, median * math.exp(rng.gauss(0, SIGMA)))  # noqa: E731
    if policy == "pooled":
        processes, slots = 1, processes * slots
    pages = [1] * listings
    for i in range(max(0, list_pages - listings)):
        pages[i % listings] += 1
    per_page = items / list_pages
    events, order = [], itertools.count()
    queue = [("list", listing, 1) for listing in range(listings)]
    category_read, category_waiters = {}, {c: [] for c in range(categories)}
    procs = [{"free": slots, "waiting": [], "held": 0} for _ in range(processes)]
    now, requests, end = 0.0, 0, 0.0

    def later(delay, what):
        heapq.heappush(events, (now + delay, next(order), what))

    def start(p, request):
        nonlocal requests
        procs[p]["free"] -= 1
        requests += 1
        later(draw(), ("done", p, request))

    def want(p, request):
        if procs[p]["free"] > 0:
            start(p, request)
        else:
            procs[p]["waiting"].append(request)

    def take(p, job):
        if job[0] == "list" and job[2] == 1 and category_read.get(job[1] % categories) != "done":
            c = job[1] % categories
            if c not in category_read:
                category_read[c] = "reading"
                want(p, ("category", c, job))
            else:  # waits for the fleet's one read; counts as demand (no more reads meanwhile)
                category_waiters[c].append((p, job))
                procs[p]["held"] += 1
            return
        want(p, ("list", job) if job[0] == "list" else ("product",))

    def may_read(p):
        proc = procs[p]
        if proc["waiting"] or proc["held"]:
            return False
        return True if policy == "held-job" else proc["free"] > 0

    def dispatch():
        for p in range(processes):
            while queue and may_read(p):
                take(p, queue.pop(0))
                if policy == "held-job" and procs[p]["free"] == 0:
                    # one more read: that job's first request waits for a slot
                    if queue and not procs[p]["waiting"] and not procs[p]["held"]:
                        take(p, queue.pop(0))
                    break

    dispatch()
    while events:
        now, _, what = heapq.heappop(events)
        if what[0] == "done":
            _, p, request = what
            procs[p]["free"] += 1
            end = now
            if request[0] == "category":
                category_read[request[1]] = "done"
                want(p, ("list", request[2]))
                for q, job in category_waiters[request[1]]:
                    procs[q]["held"] -= 1
                    want(q, ("list", job))
                category_waiters[request[1]] = []
            elif request[0] == "list":
                later(updater_s, ("listed", request[1]))
            elif request[0] == "product":
                want(p, ("follow-up",))
                want(p, ("follow-up",))
            while procs[p]["waiting"] and procs[p]["free"] > 0:
                start(p, procs[p]["waiting"].pop(0))
        else:  # a list result committed: its item jobs, and the listing's next page
            _, (_, listing, page) = what
            count = round(per_page * page) - round(per_page * (page - 1))
            queue.extend([("item",)] * count)
            if page < pages[listing]:
                queue.insert(0, ("list", listing, page + 1))
        dispatch()
    ideal = requests * MEAN / (processes * slots)
    return requests, end, ideal / end


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="long-tail runs per row")
    args = parser.parse_args()
    settings = [
        ("10 x 3", 10, 2593, 70, 0.3),
        ("35 x 3", 35, 2593, 70, 0.3),
        ("quick (10 x 3, 22 per category)", 10, 241, 53, 0.05),
    ]
    print("| setting | latency | held-job (today) | free-slot | pooled |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name, processes, items, list_pages, updater_s in settings:
        for latency in ("fixed", "long-tail"):
            seeds = range(1 if latency == "fixed" else args.seeds)
            cells = []
            for policy in ("held-job", "free-slot", "pooled"):
                effs = [run(policy, processes, 3, latency, s, items, list_pages, updater_s=updater_s)[2] for s in seeds]
                cells.append(f"{min(effs):.3f}" if len(effs) == 1 else f"{min(effs):.3f}–{max(effs):.3f}")
            print(f"| {name} | {latency} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
