# NumPy's brute-force scores for search_exact_test.cpp, in float64.
# argv: data.f32 n d queries.f32 nq metric [labels.i64 first end value...]
# Prints, per query, one line: the score of every row (NaN where filtered out).
import sys
import numpy as np

data_path, n, d, q_path, nq, metric = sys.argv[1:7]
n, d, nq = int(n), int(d), int(nq)
x = np.fromfile(data_path, dtype=np.float32).reshape(n, d).astype(np.float64)
q = np.fromfile(q_path, dtype=np.float32).reshape(nq, d).astype(np.float64)
if metric == "ip":
    s = q @ x.T
elif metric == "cos":
    xn = np.linalg.norm(x, axis=1)
    s = (q @ x.T) / np.linalg.norm(q, axis=1)[:, None] / np.where(xn == 0, np.inf, xn)[None, :]
else:
    s = ((q[:, None, :] - x[None, :, :]) ** 2).sum(axis=2)
if len(sys.argv) > 7:
    labels = np.fromfile(sys.argv[7], dtype=np.int64)
    first, end = int(sys.argv[8]), int(sys.argv[9])
    values = [int(v) for v in sys.argv[10:]]
    keep = np.zeros(n, dtype=bool)
    keep[first:end] = True
    keep[: len(labels)] &= np.isin(labels, values)
    keep[len(labels):] = False
    s[:, ~keep] = np.nan
for row in s:
    print(" ".join(repr(float(v)) for v in row))
