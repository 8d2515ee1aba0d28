#!/usr/bin/env python3
"""What one `$in` list costs SecantusDB by its length: the stale check and the isUpdating marks
of 2,500 parts, in lists of 1 to 2,500 pcodes, each in one transaction.

    .venv/bin/secantusd-py --port 47017 --storage-path /tmp/secantus-in &
    .venv/bin/python bench/secantus/in_lists.py 47017
"""
import sys, time, pymongo, datetime
c = pymongo.MongoClient(f"mongodb://127.0.0.1:{sys.argv[1] if len(sys.argv) > 1 else 47017}/?directConnection=true")
db = c.mb; p = db.parts
p.drop(); p.create_index("pcode", unique=True)
N=2500
now = datetime.datetime.now(datetime.timezone.utc)
p.insert_many([{"pcode": f"P{i:07d}", "prices": [{"timestamp": now, "price": 1000+i}], "updatedAt": now, "sortOrder": i} for i in range(N)])
pcodes = [f"P{i:07d}" for i in range(0, N)]
def timed(label, fn):
    t0=time.perf_counter(); fn(); print(f"{label:50s} wall {time.perf_counter()-t0:7.3f}s")
for k in [1, 8, 16, 32, 64, 256, 2500]:
    def run():
        with c.start_session() as s:
            with s.start_transaction():
                for i in range(0, N, k):
                    list(p.find({"pcode": {"$in": pcodes[i:i+k]}, "prices": {"$elemMatch": {"timestamp": {"$gte": now}}}}, {"_id":0,"pcode":1}, session=s))
    timed(f"stale find chunk {k}", run)
def eqmark():
    with c.start_session() as s:
        with s.start_transaction():
            db.command({"update": "parts", "updates": [{"q": {"pcode": x, "itemCheckedRun": {"$ne": "r"}}, "u": {"$set": {"isUpdating": True}}} for x in pcodes]}, session=s)
timed("mark per-pcode statements (1 cmd)", eqmark)
for k in [64, 2500]:
    def inmark():
        with c.start_session() as s:
            with s.start_transaction():
                db.command({"update": "parts", "updates": [{"q": {"pcode": {"$in": pcodes[i:i+k]}, "itemCheckedRun": {"$ne": "r2"}}, "u": {"$set": {"isUpdating": True}}, "multi": True} for i in range(0, N, k)]}, session=s)
    timed(f"mark $in chunk {k}", inmark)
