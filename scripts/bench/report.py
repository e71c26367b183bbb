#!/usr/bin/env python3
"""Turns the results file of scripts/bench.sh into Markdown tables: the median of the rounds of
each run beside the reference's numbers and the database limit, memory, and where the CPU time
went."""

import statistics
import sys
from collections import defaultdict

WORKLOADS = {
    "a": "a. GET /version/",
    "b": "b. GET /health/json/",
    "c": "c. GET /allocations/requests/?_limit=100",
    "d": "d. GET /users/users/?_limit=100",
    "e": "e. POST /research/grants/",
}

# The Python reference server (Django REST framework under one uvicorn worker on PostgreSQL)
# measured with wrk on a 2-core machine of the same kind: (req/s, p50 ms, p99 ms).
REFERENCE = {
    ("a", 1): (46, 21, 87),
    ("a", 32): (78, 413, 636),
    ("b", 1): (45, 22, 33),
    ("b", 32): (65, 352, 5900),
    ("c", 1): (2.4, 420, 554),
    ("c", 32): (1.6, 14600, 17900),
    ("d", 1): (6.5, 127, 335),
    ("d", 32): (5.3, 5800, 8100),
    ("e", 1): (23, 43, 61),
    ("e", 32): (31, 990, 1260),
}
REFERENCE_IDLE_MB = 118
REFERENCE_PEAK_MB = 440


def parse(path):
    records = []
    with open(path) as source:
        for line in source:
            kind, _, rest = line.rstrip("\n").partition(" ")
            if kind == "MACHINE":
                key, _, value = rest.partition("=")
                records.append((kind, {"key": key, "value": value}))
                continue
            fields = {}
            for item in rest.split():
                key, _, value = item.partition("=")
                fields[key] = value
            records.append((kind, fields))
    return records


def milliseconds(microseconds):
    ms = microseconds / 1000
    if ms >= 1000:
        return f"{ms / 1000:.1f} s"
    if ms >= 10:
        return f"{ms:.0f} ms"
    if ms >= 1:
        return f"{ms:.1f} ms"
    return f"{ms:.2f} ms"


def rate(value):
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def megabytes(kib):
    return f"{int(kib) * 1024 / 1e6:.0f} MB" if kib else "—"


def main():
    records = parse(sys.argv[1])
    runs = defaultdict(list)
    peaks = {}
    idle = {}
    statements = {}
    machine = []
    for kind, fields in records:
        if kind == "RUN":
            key = (fields["backend"], fields["workload"], int(fields["concurrency"]), fields["tool"])
            runs[key].append(fields)
        elif kind == "PEAK":
            peaks[(fields["backend"], fields["workload"], int(fields["concurrency"]))] = fields["kib"]
        elif kind == "IDLE":
            idle[(fields["backend"], fields["when"])] = fields["kib"]
        elif kind == "HWM":
            peaks[(fields["backend"], "all", 0)] = fields["kib"]
        elif kind == "STATEMENTS":
            statements[fields["workload"]] = fields["queries"]
        elif kind == "MACHINE":
            machine.append(f"- {fields['key']}: {fields['value']}")

    def median(key, field):
        values = [float(run[field]) for run in runs.get(key, [])]
        return statistics.median(values) if values else None

    print("\n".join(machine))
    print()
    print("| workload | database | c | req/s | p50 | p99 | database limit tx/s | share of limit | reference req/s, p50, p99 | × reference | peak RSS | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    keys = sorted({key[:3] for key in runs}, key=lambda key: (key[1], key[0] != "postgres", key[0], key[2]))
    for backend, workload, concurrency in keys:
        server = (backend, workload, concurrency, "wrk")
        if server not in runs:
            continue
        rps = median(server, "rps")
        errors = sum(int(run["http_errors"]) + int(run["socket_errors"]) + int(run["timeouts"]) for run in runs[server])
        limit = median((backend, workload, concurrency, "pgbench"), "rps")
        limit_text = rate(limit) if limit else "—"
        share = f"{rps / limit:.0%}" if limit else "—"
        reference = REFERENCE.get((workload, concurrency))
        if reference:
            reference_text = f"{rate(reference[0])}, {milliseconds(reference[1] * 1000)}, {milliseconds(reference[2] * 1000)}"
            times = f"{rps / reference[0]:,.0f}×"
        else:
            reference_text, times = "—", "—"
        print(
            f"| {WORKLOADS[workload]} | {backend} | {concurrency} | {rate(rps)} | {milliseconds(median(server, 'p50_us'))} | "
            f"{milliseconds(median(server, 'p99_us'))} | {limit_text} | {share} | {reference_text} | {times} | "
            f"{megabytes(peaks.get((backend, workload, concurrency)))} | {errors} |"
        )
    print()

    # The script resets VmHWM before each workload, so the peak of the whole run is the largest
    # of the per-workload peaks and the final VmHWM.
    def run_peak(backend):
        values = [int(kib) for key, kib in peaks.items() if key[0] == backend and kib]
        return str(max(values)) if values else None

    print("| database | idle RSS after start | idle RSS after the runs | peak RSS (largest VmHWM) | reference idle, peak |")
    print("|---|---|---|---|---|")
    for backend in sorted({key[0] for key in idle}):
        print(
            f"| {backend} | {megabytes(idle.get((backend, 'start')))} | {megabytes(idle.get((backend, 'end')))} | "
            f"{megabytes(run_peak(backend))} | {REFERENCE_IDLE_MB} MB, {REFERENCE_PEAK_MB} MB |"
        )
    print()

    print("CPU time per round (median of the rounds), as a share of the 2 cores' capacity over the round:")
    print()
    print("| workload | database | c | tool | keystone | postgres | load generator | other processes | idle | server CPU per request |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(runs, key=lambda key: (key[1], key[0] != "postgres", key[0], key[2], key[3])):
        backend, workload, concurrency, tool = key
        wall = median(key, "wall_s")
        capacity = wall * 2

        def share(field):
            return f"{median(key, field) / capacity:.0%}"

        busy = median(key, "busy_s")
        requests_per_round = median(key, "requests")
        cpu_per_request = "—"
        if tool == "wrk" and requests_per_round:
            cpu_per_request = f"{median(key, 'keystone_s') / requests_per_round * 1e6:,.0f} µs"
        print(
            f"| {workload} | {backend} | {concurrency} | {'Keystone (wrk)' if tool == 'wrk' else 'pgbench'} | {share('keystone_s')} | "
            f"{share('postgres_s')} | {share('loadgen_s')} | {share('other_s')} | {max(0.0, 1 - busy / capacity):.0%} | {cpu_per_request} |"
        )
    if statements:
        print()
        print("Statements per request (X-Keystone-Queries): " + ", ".join(f"{workload}: {count}" for workload, count in sorted(statements.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
