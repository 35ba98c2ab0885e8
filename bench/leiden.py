"""Leiden baseline for bench/simclusters.ts: reads a follows CSV (consumer_id,producer_id[,ts]) with the stdlib
csv module, builds the undirected follow graph with igraph (every user a node, duplicate edges merged), runs
leidenalg (ModularityVertexPartition, seeded) and prints JSON: the detection time alone, the loading time, the
library versions and the community of every node by external id. Uses only Debian's python3-igraph and
python3-leidenalg."""
import csv
import json
import sys
import time

import igraph as ig
import leidenalg as la

path, seed = sys.argv[1], int(sys.argv[2])
index = {}
edges = []
t0 = time.perf_counter()
with open(path, newline="") as f:
    rows = csv.reader(f)
    next(rows)
    for row in rows:
        a = index.setdefault(row[0], len(index))
        b = index.setdefault(row[1], len(index))
        edges.append((a, b))
g = ig.Graph(n=len(index), edges=edges, directed=False)
g.simplify()
load_s = time.perf_counter() - t0
t1 = time.perf_counter()
part = la.find_partition(g, la.ModularityVertexPartition, seed=seed)
detect_s = time.perf_counter() - t1
names = [None] * len(index)
for k, v in index.items():
    names[v] = k
print(json.dumps({"load_seconds": load_s, "seconds": detect_s, "nodes": g.vcount(), "edges": g.ecount(),
                  "communities": len(part), "modularity": part.modularity,
                  "versions": {"igraph": ig.__version__, "leidenalg": la.version},
                  "membership": dict(zip(names, part.membership))}))
