#!/usr/bin/env python3
"""The engine's rule written straightforwardly in Python, on the same stream
as bench_engine.c (same generator), for the side-by-side benchmark.
    engine_ref.py TICKS"""
import sys
import time

NSYM = 100
M64 = (1 << 64) - 1


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    window, drop, tp, size = 20, 2, 5, 100
    x = 42
    px = [10000000000] * NSYM
    ticks = []
    for i in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) & M64
        s = (x >> 33) % NSYM
        x = (x * 6364136223846793005 + 1442695040888963407) & M64
        px[s] += ((x >> 33) % 401 - 200) * 1000000
        if px[s] < 100000000:
            px[s] = 100000000
        ticks.append(("S%02d" % s, "p0", i + 1, px[s]))

    t0 = time.perf_counter()
    state = {}
    events = 0
    pnl = 0
    for sym, shard, seq, price in ticks:
        st = state.get(sym)
        if st is None:
            st = state[sym] = {"hist": [], "qty": 0, "entry": 0, "last": None}
        if st["last"] is not None and st["last"][0] == shard and seq <= st["last"][1]:
            continue
        hist = st["hist"]
        if st["qty"] == 0:
            if hist and price * 100 < max(hist[-window:]) * (100 - drop):
                st["qty"], st["entry"] = size, price
                events += 1
        elif price * 100 > st["entry"] * (100 + tp):
            pnl += (price - st["entry"]) * st["qty"]
            st["qty"] = 0
            events += 1
        hist.append(price)
        if len(hist) > window:
            del hist[0]
        st["last"] = (shard, seq)
    secs = time.perf_counter() - t0
    whole, frac = divmod(abs(pnl), 100000000)
    text = ("-" if pnl < 0 else "") + str(whole) + (("." + ("%08d" % frac).rstrip("0")) if frac else "")
    print("first pass: events=%d pnl=%s" % (events, text))
    print("Python: %d ticks in %.3f s: %.4f M ticks/s" % (n, secs, n / secs / 1e6))


if __name__ == "__main__":
    main()
