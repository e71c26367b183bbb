#!/usr/bin/env python3
"""Samples CPU time and memory during one benchmark round, for scripts/bench.sh.

Every 0.5 s it reads /proc/<pid>/stat of every process and groups CPU time into: the Keystone
server, the PostgreSQL processes serving the benchmark database (backends whose process title
names it, plus PostgreSQL's shared background processes), the load generator (wrk or pgbench),
and everything else on the machine. It also tracks the server's peak VmRSS. It stops on
SIGTERM or after --seconds, and then prints one "CPU key=value ..." line; CPU times are in
seconds, memory in KiB.

A process that exits between two samples loses up to 0.5 s of CPU time from its total.
"""

import argparse
import os
import signal
import sys
import time

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
INTERVAL_SECONDS = 0.5


def read_stat(pid):
    """Returns (comm, utime + stime in ticks) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as source:
            text = source.read()
    except OSError:
        return None
    # comm is in parentheses and may contain spaces; the fields after it are space-separated.
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return comm, int(fields[11]) + int(fields[12])


def read_title(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as source:
            return source.read().replace(b"\0", b" ").decode("utf-8", errors="replace")
    except OSError:
        return ""


def busy_ticks():
    """Returns (busy, total) CPU ticks of the whole machine from /proc/stat."""
    with open("/proc/stat") as source:
        fields = [int(value) for value in source.readline().split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return total - idle, total


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as source:
            for line in source:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler:
    def __init__(self, server_pid, database):
        self.server_pid = server_pid
        self.database_marker = f" {database} "
        self.groups = {}
        self.first = {}
        self.last = {}
        self.peak_rss = 0
        self.start_busy, self.start_total = busy_ticks()
        self.end_busy, self.end_total = self.start_busy, self.start_total
        self.started = time.monotonic()
        self.sample(initial=True)

    def classify(self, pid, comm):
        if pid == self.server_pid:
            return "keystone"
        if comm in ("wrk", "pgbench"):
            return "loadgen"
        if comm == "postgres":
            # Backend titles read "postgres: 15/main: USER DATABASE 127.0.0.1(PORT) STATE".
            title = read_title(pid) + " "
            if self.database_marker in title:
                return "postgres"
            # Backends and autovacuum workers of other databases serve other users of the server.
            if not any(part in title for part in ("127.0.0.1(", "[local]", "autovacuum worker")):
                return "postgres"
        return "other"

    def sample(self, initial=False):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            stat = read_stat(pid)
            if stat is None:
                continue
            comm, ticks = stat
            if pid not in self.groups:
                self.groups[pid] = self.classify(pid, comm)
                # A process that starts during the round counts from zero.
                self.first[pid] = ticks if initial else 0
            self.last[pid] = ticks
        self.peak_rss = max(self.peak_rss, rss_kib(self.server_pid))
        self.end_busy, self.end_total = busy_ticks()

    def report(self):
        totals = {"keystone": 0, "postgres": 0, "loadgen": 0}
        for pid, group in self.groups.items():
            if group in totals:
                totals[group] += self.last[pid] - self.first[pid]
        busy = self.end_busy - self.start_busy
        other = max(0, busy - sum(totals.values()))
        seconds = {name: ticks / TICKS_PER_SECOND for name, ticks in totals.items()}
        return (
            "CPU wall_s={:.2f} busy_s={:.2f} keystone_s={:.2f} postgres_s={:.2f} loadgen_s={:.2f} other_s={:.2f} "
            "peak_rss_kib={}".format(
                time.monotonic() - self.started,
                busy / TICKS_PER_SECOND,
                seconds["keystone"],
                seconds["postgres"],
                seconds["loadgen"],
                other / TICKS_PER_SECOND,
                self.peak_rss,
            )
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server-pid", type=int, required=True, help="process id of the Keystone server")
    parser.add_argument("--database", default="keystone_bench", help="PostgreSQL database of the benchmark")
    parser.add_argument("--seconds", type=float, required=True, help="stop after this many seconds at the latest")
    args = parser.parse_args()

    stopping = False

    def stop(_signal, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sampler = Sampler(args.server_pid, args.database)
    deadline = time.monotonic() + args.seconds
    while not stopping and time.monotonic() < deadline:
        time.sleep(INTERVAL_SECONDS)
        sampler.sample()
    print(sampler.report(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
