#!/usr/bin/env python3
# stats.py - the statistics of fcgichat's benchmark: medians over runs,
# ratios, the Markdown report and the idle-cost JSON line.
"""Usage:
  stats.py report RESULTS.JSONL
      prints results.md: the medians of the runs in RESULTS.JSONL (the
      lines loadgen printed, as tests/bench/run.sh kept them) and the
      ratios between servers, laid out by the "run" line run.sh writes last
      (what was run, with which settings, on what machine).
  stats.py idle-cost SERVER TRANSPORT CLIENTS BASE_KB KB TICKS0 TICKS1 NS0 NS1 HZ
      prints the idle_cost JSON line of one idle run from run.sh's samples:
      PSS (KB) before the clients came (BASE_KB) and after (KB), CPU ticks
      of the server and its workers at NS0 and NS1 (ns), HZ ticks per second.

Exit status 0, or 2 (with a message on stderr) when the input is unusable.
Only Python's standard library is used (Debian's python3 package).
"""
import json
import sys

# The server the others are measured against ("fcgichat/this").
REFERENCE = "fcgichat"

# How the report and the plot name a server or transport, when not by its
# name in the results.
SERVER_NAMES = {"nchan": "Nchan", "pg": "PostgreSQL"}
TRANSPORT_NAMES = {"longpoll": "long-poll", "sse": "SSE", "ws": "WebSocket"}

# Why a run was skipped, as the checks column says it (run.sh's reason, by
# how it starts); other reasons are given as they are.
SKIP_NAMES = (("fd limit", "fds"),)

# The fan-out transports compared on one server: (this, against that).
TRANSPORT_PAIRS = (("ws", "sse"),)

# The targets of issue 15, checked where their runs ran: (what, transport,
# sizes, peer, most p99 fcgichat/peer). The floor's is 0.8x its speed:
# fcgichat's p99 at most 1/0.8 of the floor's.
P99_TARGETS = (
    ("long-poll p99 <= 2.5x Nchan", "longpoll", (1000, 5000), "nchan", 2.5),
    ("long-poll p99 within 0.8x the floor's speed", "longpoll", (1000, 5000),
     "floor", 1 / 0.8),
    ("SSE p99 <= 1.3x Nchan", "sse", (1000, 5000), "nchan", 1.3),
)
# Waiting clients that must all get every message: (transport, N).
WAITING_TARGETS = (("longpoll", 10000), ("sse", 10000))
# Committed sends per second, and at least this share of the send floor's.
SEND_TARGET, SEND_FLOOR_SHARE = 15000, 0.8

# Rows of the throughput table: scenario, and how the table names it.
LOOP_SCENARIOS = (("send", "send (committed messages)"), ("poll", "poll"))


class BenchError(Exception):
    """Input the report cannot be made from; the message says why."""


def server_name(server):
    return SERVER_NAMES.get(server, server)


def load(path):
    """(runs, run): the JSON lines of path, and its last "run" line."""
    runs, run = [], None
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.startswith("{"):
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                # A loadgen stopped mid-line: its run has no figures.
                print("stats.py: %s:%d: not JSON, left out" % (path, lineno),
                      file=sys.stderr)
                continue
            if rec.get("scenario") == "run":
                run = rec
            else:
                cpu_per_op(rec)
                runs.append(rec)
    if run is None:
        raise BenchError("%s has no \"run\" line (written by run.sh)" % path)
    return runs, run


def cpu_per_op(rec):
    """Adds cpu_us: the server's CPU time per delivery (fan-out) or per
    request (send, poll), when run.sh recorded it (server_cpu_s)."""
    ops = rec.get("deliveries" if rec.get("scenario") == "fanout"
                  else "requests")
    if "server_cpu_s" in rec and ops:
        rec["cpu_us"] = float(rec["server_cpu_s"]) * 1e6 / float(ops)


def plan(run, scenario):
    """The (server, transport) pairs run.sh ran of scenario, in its order."""
    return [(p["server"], p.get("transport", ""))
            for p in run["plan"] if p["scenario"] == scenario]


def has(run, *scenarios):
    """Did run.sh run any of scenarios (BENCH_ONLY may leave some out)?"""
    return any(plan(run, s) for s in scenarios)


def unique(items):
    return list(dict.fromkeys(items))


# ------------------------------------------------------------- medians
# The report used to be made by awk, which saw every JSON value as the text
# between its quotes and passed medians on as text (CONVFMT "%.6g"). Those
# conversions are kept so that a report made again from old results.jsonl
# files comes out the same to the last digit.

def text(v):
    """A JSON value as text: "" when absent, true/false for booleans."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def number(v):
    """A JSON value as a number; 0 when it is none (awk's v + 0)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return 0.0
    return float(v)


def awk_text(x):
    """Number x as awk prints it with %s."""
    return "%d" % x if x == int(x) else "%.6g" % x


class Figure:
    """The median of one field over the runs of one scenario and server
    ("-" when there is none), how many of those runs passed their checks,
    how many there were, and why one was skipped ("" when none was)."""

    def __init__(self, runs, field, scenario, server, transport=None,
                 clients=None):
        values, self.ok, self.skipped = [], 0, ""
        for r in runs:
            if text(r.get("scenario")) != scenario or \
               text(r.get("server")) != server:
                continue
            if transport is not None and text(r.get("transport")) != transport:
                continue
            if clients is not None and text(r.get("clients")) != str(clients):
                continue
            if text(r.get("skipped")):
                self.skipped = text(r.get("skipped"))
                continue
            values.append(number(r.get(field)))
            self.ok += text(r.get("ok")) != "false"
        self.runs = len(values)
        self.median = median(values)

    def checks(self):
        if self.skipped and not self.runs:
            return "skipped (%s)" % skip_name(self.skipped)
        if not self.runs:
            return "-"
        return "%d/%d ok" % (self.ok, self.runs)


def skip_name(reason):
    for start, name in SKIP_NAMES:
        if reason.startswith(start):
            return name
    return reason


def median(values):
    """The median of values as awk text, "-" when there are none."""
    v = sorted(values)
    c = len(v)
    if not c:
        return "-"
    return awk_text(v[c // 2] if c % 2 else (v[c // 2 - 1] + v[c // 2]) / 2)


def fmt(x):
    """A median for the table: three significant digits, or whole."""
    if x == "-":
        return "-"
    v = float(x)
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def ratio(a, b):
    """a/b of two medians, "-" when either is missing or b is 0."""
    if a == "-" or b == "-" or float(b) == 0:
        return "-"
    return "%.2f" % (float(a) / float(b))


def med(*args, **kw):
    return fmt(Figure(*args, **kw).median)


# -------------------------------------------------------------- report

def table(header, aligns):
    """The first two lines of a Markdown table."""
    return ["| " + " | ".join(header) + " |", "|" + "|".join(aligns) + "|"]


def row(cells):
    return "| " + " | ".join(str(c) for c in cells) + " |"


def report_header(run):
    lines = [
        "# fcgichat benchmark",
        "",
        "- date: %s, %s s" % (run["date"], run["elapsed_s"]),
        "- commit: %s" % run["commit"],
        "- cores: %s, %s" % (run["cores"], run["cpu"]),
        "- load (1/5/15 min) at start: %s; at end: %s"
        % (run["load_start"], run["load_end"]),
    ]
    lines += ["- " + s for s in run["software"]]
    lines += [
        "- runs per figure: %s (median); descriptors (hard limit): %s"
        % (run["repeat"], run["fd_limit"]),
        "- the load generator (tests/bench/loadgen.c, one thread) runs on the",
        "  same cores as the servers; its CPU time is in results.jsonl",
        "",
    ]
    return lines


def report_fanout(runs, run):
    fanout = plan(run, "fanout")
    peers = [s for s in unique(s for s, _ in fanout) if s != REFERENCE]
    header = ["transport", "N", "p50", "p90", "p99", "max", "deliveries/s",
              "checks"]
    aligns = ["---", "---:", "---:", "---:", "---:", "---:", "---:", "---"]
    for p in peers:
        name = server_name(p)
        header += [name + " p50", name + " p99", name + " deliveries/s",
                   name + " checks", "p99 %s/%s" % (REFERENCE, name)]
        aligns += ["---:", "---:", "---:", "---", "---:"]
    lines = [
        "## Fan-out: N waiting clients, one sender, %s messages"
        % run["messages"],
        "",
        "Latency from send to receipt, in ms; deliveries/s while a message",
        "fans out; checks: runs in which every client got every message",
        "exactly once, in order, with no error.",
        "",
    ] + table(header, aligns)
    for t in unique(t for _, t in fanout):
        for n in run["sizes"]:
            cells = fanout_cells(runs, t, n, peers)
            assert len(cells) == len(header), "a column without a title"
            lines.append(row(cells))
    return lines + [""]


def fanout_cells(runs, transport, n, peers):
    k = ("fanout", REFERENCE, transport, n)
    p99 = Figure(runs, "p99_ms", *k)
    cells = [transport, n, med(runs, "p50_ms", *k), med(runs, "p90_ms", *k),
             fmt(p99.median), med(runs, "max_ms", *k),
             med(runs, "deliveries_per_s", *k), p99.checks()]
    for p in peers:
        q = ("fanout", p, transport, n)
        peer_p99 = Figure(runs, "p99_ms", *q)
        cells += [med(runs, "p50_ms", *q), fmt(peer_p99.median),
                  med(runs, "deliveries_per_s", *q), peer_p99.checks(),
                  ratio(p99.median, peer_p99.median)]
    return cells


def report_transports(runs, run):
    """Each server's fan-out over one transport against another (WebSocket
    against SSE), where the plan has both; no lines when it has none."""
    fanout = plan(run, "fanout")
    lines = []
    for this, that in TRANSPORT_PAIRS:
        servers = [s for s in unique(s for s, _ in fanout)
                   if (s, this) in fanout and (s, that) in fanout]
        if not servers:
            continue
        a, b = TRANSPORT_NAMES[this], TRANSPORT_NAMES[that]
        header, aligns = ["N"], ["---:"]
        for s in servers:
            name = server_name(s)
            header += ["%s %s p99" % (name, a), "%s %s p99" % (name, b),
                       "%s p99 %s/%s" % (name, a, b),
                       "%s deliveries/s %s/%s" % (name, a, b)]
            aligns += ["---:", "---:", "---:", "---:"]
        lines += [
            "## Fan-out: %s against %s" % (a, b),
            "",
            "The same server and N over both transports: p99 latency in ms,",
            "and the ratios of p99 and of deliveries/s (%s over %s)." % (a, b),
            "",
        ] + table(header, aligns)
        for n in run["sizes"]:
            cells = [n]
            for s in servers:
                k1, k2 = ("fanout", s, this, n), ("fanout", s, that, n)
                p1 = Figure(runs, "p99_ms", *k1).median
                p2 = Figure(runs, "p99_ms", *k2).median
                d1 = Figure(runs, "deliveries_per_s", *k1).median
                d2 = Figure(runs, "deliveries_per_s", *k2).median
                cells += [fmt(p1), fmt(p2), ratio(p1, p2), ratio(d1, d2)]
            lines.append(row(cells))
        lines.append("")
    return lines


def report_loops(runs, run):
    lines = ["## Throughput: %s keep-alive clients, %s s"
             % (run["clients"], run["seconds"]), ""]
    lines += table(["scenario", "server", "per s", "p50 ms", "p99 ms",
                    "checks", "fcgichat/this"],
                   ["---", "---", "---:", "---:", "---:", "---", "---:"])
    for scenario, title in LOOP_SCENARIOS:
        ref = Figure(runs, "per_s", scenario, REFERENCE).median
        for s, _ in plan(run, scenario):
            f = Figure(runs, "per_s", scenario, s)
            lines.append(row([
                title, s, fmt(f.median), med(runs, "p50_ms", scenario, s),
                med(runs, "p99_ms", scenario, s), f.checks(),
                "-" if s == REFERENCE else ratio(ref, f.median)]))
    return lines + [
        "",
        "poll: fcgichat and floor read `/api/rooms/R/messages?limit=20`;",
        "static is lighttpd serving `/` (index.html) with fcgichat's config;",
        "nginx is nginx answering a fixed body at `/api/floor`.",
    ] + ([
        "store: fcgichat's store alone (tests/bench/store_floor.c: each",
        "send's access check and group commit, no HTTP).",
    ] if ("store", "") in plan(run, "send") else []) + [""]


def report_cpu(runs, run):
    """CPU time each server spent per delivery or request (front end,
    workers and database together), where run.sh recorded it."""
    if not any("cpu_us" in r for r in runs):
        return []
    lines = ["## CPU: what each server spent", "",
             "CPU time (user + system) of the server's processes, in",
             "microseconds per delivery (fan-out: a long-poller's asking",
             "again included) or per request; medians over the runs. The",
             "machine's cores divided by this is the most it can do.", ""]
    lines += table(["scenario", "N", "server", "CPU us", "fcgichat/this"],
                   ["---", "---:", "---", "---:", "---:"])
    fanout = plan(run, "fanout")
    for t in unique(t for _, t in fanout):
        for n in run["sizes"]:
            ref = Figure(runs, "cpu_us", "fanout", REFERENCE, t, n).median
            for s, _ in [p for p in fanout if p[1] == t]:
                f = Figure(runs, "cpu_us", "fanout", s, t, n).median
                if f != "-":
                    lines.append(row([
                        "fan-out " + TRANSPORT_NAMES.get(t, t), n, s, fmt(f),
                        "-" if s == REFERENCE else ratio(ref, f)]))
    for scenario, title in LOOP_SCENARIOS:
        ref = Figure(runs, "cpu_us", scenario, REFERENCE).median
        for s, _ in plan(run, scenario):
            f = Figure(runs, "cpu_us", scenario, s).median
            if f != "-":
                lines.append(row([title, run["clients"], s, fmt(f),
                                  "-" if s == REFERENCE else ratio(ref, f)]))
    return lines + [""]


def report_idle(runs, run):
    lines = [
        "## Idle cost: %s clients waiting for %s s"
        % (run["idle_clients"], run["idle_seconds"]),
        "",
        "Growth of the server's memory (PSS of the front end and its",
        "workers) per waiting client, and the CPU they use while waiting.",
        "",
    ] + table(["server", "transport", "KB per waiting client",
               "CPU % while idle", "total PSS MB"],
              ["---", "---", "---:", "---:", "---:"])
    for s, t in plan(run, "idle"):
        k = ("idle_cost", s, t)
        kb = Figure(runs, "pss_kb", *k).median
        mb = "-" if kb == "-" else "%.1f" % (float(kb) / 1024)
        lines.append(row([s, t, med(runs, "kb_per_client", *k),
                          med(runs, "cpu_pct", *k), mb]))
    return lines + [""]


def met(ok):
    return "met" if ok else "not met"


def report_targets(runs, run):
    """Issue 15's targets that this run can judge, each met or not."""
    fanout = plan(run, "fanout")
    rows = []
    for what, t, sizes, peer, most in P99_TARGETS:
        if (REFERENCE, t) not in fanout or (peer, t) not in fanout:
            continue
        for n in sizes:
            if n not in run["sizes"]:
                continue
            a = Figure(runs, "p99_ms", "fanout", REFERENCE, t, n).median
            b = Figure(runs, "p99_ms", "fanout", peer, t, n).median
            r = ratio(a, b)
            rows.append([what, "N = %d" % n, "%s/%s %s" % (
                REFERENCE, server_name(peer), r),
                "-" if r == "-" else met(float(r) <= most)])
    for t, n in WAITING_TARGETS:
        if (REFERENCE, t) not in fanout or n not in run["sizes"]:
            continue
        f = Figure(runs, "p99_ms", "fanout", REFERENCE, t, n)
        rows.append(["%d waiting clients, 0 errors" % n, TRANSPORT_NAMES[t],
                     f.checks(), "-" if not f.runs else
                     met(f.ok == f.runs)])
    if (REFERENCE, "") in plan(run, "send"):
        a = Figure(runs, "per_s", "send", REFERENCE).median
        rows.append(["committed sends/s >= %d" % SEND_TARGET, "16 clients",
                     fmt(a), "-" if a == "-" else
                     met(float(a) >= SEND_TARGET)])
        if ("floor", "") in plan(run, "send"):
            b = Figure(runs, "per_s", "send", "floor").median
            r = ratio(a, b)
            rows.append(["sends >= %.1fx the send floor" % SEND_FLOOR_SHARE,
                         "16 clients", "fcgichat/floor " + r,
                         "-" if r == "-" else
                         met(float(r) >= SEND_FLOOR_SHARE)])
    if not rows:
        return []
    return ["## Targets (issue 15)", "",
            "Each from this run's medians; the floor's speed is the",
            "inverse of its p99 (0.8x it: fcgichat/floor p99 at most 1.25).",
            ""] + table(["target", "where", "this run", "verdict"],
                        ["---", "---", "---", "---"]) + \
        [row(r) for r in rows] + [""]


def report(runs, run):
    """The lines of results.md."""
    return (report_header(run) + report_targets(runs, run)
            + report_fanout(runs, run)
            + ["![p99 delivery latency vs waiting clients](fanout.svg)", ""]
            + report_transports(runs, run)
            + (report_loops(runs, run) if has(run, "send", "poll") else [])
            + report_cpu(runs, run)
            + (report_idle(runs, run) if has(run, "idle") else [])
            + ["Raw runs: `results.jsonl`. Method: `tests/bench/run.sh`."])


# ----------------------------------------------------------- idle cost

def idle_cost(server, transport, clients, base_kb, kb, ticks0, ticks1,
              ns0, ns1, hz):
    """The idle_cost JSON line. Arithmetic in doubles, in awk's order, so
    that the figures match the lines run.sh's awk wrote."""
    n, b, m1 = float(clients), float(base_kb), float(kb)
    cpu = (float(ticks1) - float(ticks0)) / float(hz) \
        / ((float(ns1) - float(ns0)) / 1e9) * 100
    return ('{"scenario":"idle_cost","server":"%s","transport":"%s",'
            '"clients":%d,"pss_base_kb":%d,"pss_kb":%d,'
            '"kb_per_client":%.2f,"cpu_pct":%.2f}'
            % (server, transport, n, b, m1, (m1 - b) / n, cpu))


def main(argv):
    if len(argv) == 3 and argv[1] == "report":
        runs, run = load(argv[2])
        print("\n".join(report(runs, run)))
    elif len(argv) == 12 and argv[1] == "idle-cost":
        print(idle_cost(*argv[2:]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (BenchError, OSError, KeyError, ValueError) as e:
        print("stats.py: %s" % e, file=sys.stderr)
        sys.exit(2)
