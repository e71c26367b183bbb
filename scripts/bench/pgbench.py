#!/usr/bin/env python3
"""Replays Keystone's SQL for one HTTP request with pgbench, to measure what PostgreSQL alone
can do for that request ("database limit").

capture: reads the part of the PostgreSQL server log written while Keystone handled one
    request (with `log_statement = 'all'` set on the benchmark database), and writes a pgbench
    script with the same statements in the same order, plus a JSON file with the parameter
    values that Keystone bound. The request-log record, which Keystone writes in background
    batches of up to 200 rows, is modelled as one 200-row INSERT in every 200 transactions.

run: runs pgbench with such a script and prints one "RESULT key=value ..." line with the
    transaction rate and the median and 99th percentile transaction latency in microseconds.
"""

import argparse
import glob
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

# "2026-12-04 22:04:02.888 UTC [24721] postgres@keystone_bench LOG:  execute sqlx_s_2: SELECT ..."
# (Debian's default log_line_prefix, '%m [%p] %q%u@%d ').
ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[(\d+)\] (\S*)@(\S*) ([A-Z]+):  (.*)$")
EXECUTE = re.compile(r"^(?:execute [^:]+|statement): (.*)$", re.S)
PARAMETER = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")
PLACEHOLDER = re.compile(r"\$(\d+)")
TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|START TRANSACTION|COMMIT|ROLLBACK|END)\b", re.I)
# Records that Keystone writes outside the request: the request log (batched) and the job
# scheduler's bookkeeping.
BACKGROUND = re.compile(r"\b(logging_requestlog|keystone_schedule_tick)\b")

REQUEST_LOG_BATCH = 200


def read_entries(log_path, start, end, database):
    """Returns (pid, level, message) for each log entry of `database` between two byte offsets."""
    with open(log_path, "rb") as log:
        log.seek(start)
        text = log.read(end - start).decode("utf-8", errors="replace")
    entries = []
    for line in text.split("\n"):
        match = ENTRY.match(line)
        if match:
            pid, _user, db, level, message = match.groups()
            entries.append([db == database, pid, level, message])
        elif entries and line.startswith("\t"):
            # Continuation line of a multi-line statement or parameter list.
            entries[-1][3] += "\n" + line[1:]
    return [(pid, level, message) for ours, pid, level, message in entries if ours]


def parse_parameters(detail):
    """Maps placeholder number to its value (None for NULL) from a 'parameters: ...' DETAIL."""
    values = {}
    for number, raw in PARAMETER.findall(detail):
        values[int(number)] = None if raw == "NULL" else raw[1:-1].replace("''", "'")
    return values


def statements_of(entries):
    """Returns [(sql, {number: value})] in execution order."""
    statements = []
    last_by_pid = {}
    for pid, level, message in entries:
        if level == "LOG":
            match = EXECUTE.match(message)
            if match:
                statements.append([match.group(1).strip(), {}])
                last_by_pid[pid] = statements[-1]
        elif level == "DETAIL" and message.startswith("parameters: ") and pid in last_by_pid:
            last_by_pid[pid][1] = parse_parameters(message)
    return [(sql, values) for sql, values in statements]


def counted_statements(statements):
    """Counts statements as Keystone's X-Keystone-Queries header does: a transaction counts once."""
    count = 0
    in_transaction = False
    for sql, _ in statements:
        control = TRANSACTION_CONTROL.match(sql)
        if control:
            keyword = control.group(1).upper()
            if keyword in ("BEGIN", "START TRANSACTION"):
                in_transaction = True
                count += 1
            else:
                in_transaction = False
        elif not in_transaction:
            count += 1
    return count


def sql_literal(value):
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


def request_log_insert(method, endpoint, status, user_id):
    row = "({}, {}, {}, '127.0.0.1', now(), gen_random_uuid()::text, {})".format(
        sql_literal(method), sql_literal(endpoint), int(status), user_id if user_id else "NULL"
    )
    rows = ", ".join([row] * REQUEST_LOG_BATCH)
    return (
        "INSERT INTO logging_requestlog (method, endpoint, response_code, remote_address, timestamp, cid, user_id) "
        "VALUES " + rows + ";"
    )


def capture(args):
    entries = read_entries(args.log, args.start, args.end, args.database)
    statements = [(sql, values) for sql, values in statements_of(entries) if not BACKGROUND.search(sql)]
    counted = counted_statements(statements)
    if counted != args.expect:
        print(
            f"error: the server log holds {counted} statements for the request, but Keystone reported "
            f"{args.expect} (X-Keystone-Queries); a background statement may have interleaved, so capture again",
            file=sys.stderr,
        )
        for sql, _ in statements:
            print("  " + sql[:160], file=sys.stderr)
        return 1

    lines = [
        f"-- Keystone's statements for {args.method} {args.endpoint}, captured from the PostgreSQL log.",
        f"-- Keystone counts {counted} statements (a transaction counts once).",
    ]
    defines = {}
    returned_id_seen = False
    for index, (sql, values) in enumerate(statements, start=1):
        if re.search(r"(?<!:):[A-Za-z_]", PLACEHOLDER.sub("", sql)):
            print(f"error: statement {index} contains ':name', which pgbench would read as a variable: {sql[:160]}", file=sys.stderr)
            return 1

        def variable(match):
            number = int(match.group(1))
            value = values.get(number)
            if value is None:
                return "NULL"
            if returned_id_seen and args.returned_id is not None and value == str(args.returned_id):
                return ":created_id"
            name = f"s{index}_p{number}"
            defines[name] = value
            return ":" + name

        text = PLACEHOLDER.sub(variable, sql)
        returns_id = args.returned_id is not None and not returned_id_seen and re.match(r"^\s*INSERT\b.*\bRETURNING id\b", sql, re.I | re.S)
        if returns_id:
            # pgbench stores the new row's columns as created_<column>, so the statements after
            # this one read the row this transaction inserted, as Keystone's do.
            text += " \\gset created_"
            returned_id_seen = True
        else:
            text += ";"
        lines.append(text)

    lines.append(f"\\set request_log_batch random(1, {REQUEST_LOG_BATCH})")
    lines.append("\\if :request_log_batch = 1")
    lines.append(request_log_insert(args.method, args.endpoint, args.status, args.user_id))
    lines.append("\\endif")

    with open(args.script, "w") as script:
        script.write("\n".join(lines) + "\n")
    with open(args.defines, "w") as out:
        json.dump(defines, out)
    print(f"captured {len(statements)} statements ({counted} counted) for {args.method} {args.endpoint}")
    return 0


def percentile(sorted_values, fraction):
    if not sorted_values:
        return 0
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def run(args):
    with open(args.defines) as source:
        defines = json.load(source)
    with tempfile.TemporaryDirectory(prefix="pgbench-") as folder:
        prefix = os.path.join(folder, "tx")
        command = [
            "pgbench", "--no-vacuum", "--protocol=prepared",
            f"--client={args.clients}", f"--jobs={args.jobs}", f"--time={args.seconds}",
            f"--file={args.script}", "--log", f"--log-prefix={prefix}",
            f"--host={args.host}", f"--port={args.port}", f"--username={args.user}",
        ]
        for name, value in defines.items():
            command.append(f"--define={name}={value}")
        command.append(args.database)
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.seconds + 60)
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            print(f"error: pgbench exited with status {done.returncode}", file=sys.stderr)
            return 1
        tps = re.search(r"^tps = ([\d.]+) \(without initial connection time\)", done.stdout, re.M)
        failed = re.search(r"^number of failed transactions: (\d+)", done.stdout, re.M)
        latencies = []
        for path in glob.glob(prefix + ".*"):
            with open(path) as log:
                for line in log:
                    fields = line.split()
                    # client_id transaction_no latency_us script_no epoch epoch_us
                    if len(fields) >= 3 and fields[2].isdigit():
                        latencies.append(int(fields[2]))
    latencies.sort()
    print(
        "RESULT requests={} rps={:.2f} p50_us={} p99_us={} failed={}".format(
            len(latencies),
            float(tps.group(1)) if tps else 0.0,
            percentile(latencies, 0.50),
            percentile(latencies, 0.99),
            failed.group(1) if failed else 0,
        )
    )
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    grab = commands.add_parser("capture", help="write a pgbench script from a server log segment")
    grab.add_argument("--log", required=True, help="PostgreSQL server log file")
    grab.add_argument("--start", type=int, required=True, help="byte offset of the segment's start")
    grab.add_argument("--end", type=int, required=True, help="byte offset of the segment's end")
    grab.add_argument("--database", required=True, help="only statements on this database count")
    grab.add_argument("--expect", type=int, required=True, help="statement count from X-Keystone-Queries")
    grab.add_argument("--method", required=True, help="HTTP method of the request, for its request-log record")
    grab.add_argument("--endpoint", required=True, help="path and query of the request")
    grab.add_argument("--status", type=int, required=True, help="HTTP status of the response")
    grab.add_argument("--user-id", type=int, help="id of the signed-in user")
    grab.add_argument("--returned-id", type=int, help="id of the row the request created, from the response body")
    grab.add_argument("--script", required=True, help="pgbench script to write")
    grab.add_argument("--defines", required=True, help="JSON file of parameter values to write")

    replay = commands.add_parser("run", help="run pgbench with a captured script")
    replay.add_argument("--script", required=True)
    replay.add_argument("--defines", required=True)
    replay.add_argument("--clients", type=int, required=True)
    replay.add_argument("--jobs", type=int, required=True)
    replay.add_argument("--seconds", type=int, required=True)
    replay.add_argument("--host", default="127.0.0.1")
    replay.add_argument("--port", default="5432")
    replay.add_argument("--user", default="postgres")
    replay.add_argument("--database", required=True)

    args = parser.parse_args()
    return capture(args) if args.command == "capture" else run(args)


if __name__ == "__main__":
    sys.exit(main())
