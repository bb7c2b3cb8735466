"""Run ``keepwell serve`` with a stall watch: where the server's threads are when a
request would wait (used by ``bench_server.py --stalls FILE``; a diagnosis aid, not
part of Keepwell).

    python bench/server_stalls.py OUT -- serve --port 8000

Two samplers run in the server's process:

- a watchdog: a thread re-arms :func:`faulthandler.dump_traceback_later` every
  :data:`TICK` seconds. When the thread cannot run for :data:`STALL` seconds (another
  thread holds the GIL in a long C call, or the process is not scheduled) the C
  watchdog, which needs no GIL, writes every thread's stack to OUT, and the thread
  then notes how long it was held off;
- a profile of where the event writer and the cycle threads spend their time: every
  :data:`SAMPLE` seconds the innermost frames of each named thread are counted; the
  counts are written to OUT.samples when the server stops (and every 10 s);
- the garbage collector's pauses over 20 ms and every full collection, to OUT.gc.
"""

from __future__ import annotations

import atexit
import collections
import faulthandler
import gc
import os
import runpy
import sys
import threading
import time
from types import FrameType

TICK = 0.02
STALL = 0.25
SAMPLE = 0.05
WATCHED = ("keepwell-events", "keepwell-cycle")


def _where(frame: FrameType | None, depth: int = 6) -> str:
    parts = []
    while frame is not None and len(parts) < depth:
        code = frame.f_code
        parts.append(f"{code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno}:{code.co_name}")
        frame = frame.f_back
    return " < ".join(parts)


def main() -> None:
    out, args = sys.argv[1], sys.argv[sys.argv.index("--") + 1 :]
    dump = open(out, "a", buffering=1)  # noqa: SIM115 - open for the process's life
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)

    def watchdog() -> None:
        last = time.monotonic()
        while True:
            faulthandler.dump_traceback_later(STALL, file=dump)
            time.sleep(TICK)
            faulthandler.cancel_dump_traceback_later()
            now = time.monotonic()
            if now - last > STALL:
                dump.write(f"=== held off {1000 * (now - last - TICK):.0f} ms, until "
                           f"{time.time():.3f} (the dump above is from inside it)\n")  # fmt: skip
            last = now

    def write_samples() -> None:
        with open(out + ".samples", "w") as f:
            for name, counter in counts.items():
                total = sum(counter.values())
                f.write(f"## {name}: {total} samples of {SAMPLE * 1000:.0f} ms\n")
                for where, n in counter.most_common(40):
                    f.write(f"{n:6d} {100 * n / total:5.1f}%  {where}\n")

    def sampler() -> None:
        written = time.monotonic()
        while True:
            time.sleep(SAMPLE)
            names = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                name = names.get(ident, "")
                if name in WATCHED:
                    counts[name][_where(frame)] += 1
            if time.monotonic() - written > 10:
                written = time.monotonic()
                write_samples()

    collections_log = open(out + ".gc", "a", buffering=1)  # noqa: SIM115
    started: dict[str, float] = {}

    def on_gc(phase: str, info: dict[str, int]) -> None:
        # the collector's own pauses: every thread waits while one runs (it holds the GIL)
        if phase == "start":
            started["at"] = time.perf_counter()
        elif "at" in started:
            took = time.perf_counter() - started.pop("at")
            if took > 0.02 or info["generation"] == 2:
                collections_log.write(f"{time.time():.3f} gen{info['generation']} "
                                      f"{1000 * took:.0f} ms collected {info['collected']} "
                                      f"in {threading.current_thread().name}\n")  # fmt: skip

    gc.callbacks.append(on_gc)
    threading.Thread(target=watchdog, name="stall-watchdog", daemon=True).start()
    threading.Thread(target=sampler, name="stall-sampler", daemon=True).start()
    atexit.register(write_samples)
    if "STALLS_NICENESS" in os.environ:  # experiments: the cycle thread's nice value
        from keepwell.server import runtime

        runtime.CYCLE_NICENESS = int(os.environ["STALLS_NICENESS"])
    if os.environ.get("STALLS_GC_PAUSE") == "0":  # experiments: the collector never paused
        import contextlib

        from keepwell.core import heap

        heap.paused = contextlib.nullcontext  # type: ignore[assignment]
    if os.environ.get("STALLS_FREEZE") == "0":  # experiments: nothing frozen (heap.settle)
        from keepwell.core import heap

        heap.enable = lambda: None
    if "STALLS_SWITCH" in os.environ:  # experiments: the GIL's switch interval (seconds)
        sys.setswitchinterval(float(os.environ["STALLS_SWITCH"]))
    sys.argv = ["keepwell", *args]
    runpy.run_module("keepwell", run_name="__main__")


if __name__ == "__main__":
    main()
