#!/usr/bin/env python3
"""bench/telemetry/bench.py - the measuring half of bench/telemetry/run.sh.

run.sh starts (and always stops) every process: N ipmi_sim instances, the
underlayd instances (its own poll scheduler on, a short sensor interval),
one rrdcached.  This script only talks to them and reads their counters, in
phases that share one results file:
  enroll  enroll the N simulators as IPMI nodes (a daemon with polling off)
  floor   the in-process floor: bench/ipmi/sweep_floor against simulator 0
  poll    warm up, then measure one window of the daemon's own polling:
          sweeps/s, values written/s, CPU of the daemon, rrdcached and the
          simulators; GET /metrics with curl; check the RRD files; with
          rrdcached, the cost of writing the files out (FLUSHALL); CPU of
          all processes per sweep (underlayd and its descendants, plus
          rrdcached); then API reads (node, fleet, sensors) p50/p99 while
          polling continues, and RSS per node
  render  bench/telemetry/metrics_render: /metrics for 10,000 x 40 readings
  table   print the tables and the extrapolation to the target
Standard library only; the CPU and API helpers come from bench/ipmi/bench.py.

Where the numbers come from
  sweeps          underlay_polls_total{kind="sensors"} deltas in /metrics,
                  failures underlay_poll_errors_total (must stay 0)
  values/sweep    the node's series in the value families of /metrics
                  (ipmi_*_celsius/_rpm/_volts/_amperes/_watts,
                  ipmi_sensor_value): the readings with a value, which are
                  exactly what the history writer stores
  values written  rrdcached: UpdatesReceived deltas (STATS); direct: the
                  files' mtimes and `rrdtool lastupdate`
  CPU             /proc/PID/stat utime+stime (+ reaped children: ipmi_sim
                  runs chassis_control.sh for every Get Chassis Status)
"""

import argparse
import importlib.util
import json
import os
import glob
import re
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # nothing written next to bench/ipmi/bench.py
_spec = importlib.util.spec_from_file_location(
    "ipmi_bench", os.path.join(HERE, "..", "ipmi", "bench.py"))
ib = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ib)

TARGET_NODES, TARGET_SENSORS, TARGET_INTERVAL = 10000, 40, 60
TARGET_SWEEPS = TARGET_NODES / TARGET_INTERVAL            # 166.7 sweeps/s
TARGET_VALUES = TARGET_NODES * TARGET_SENSORS / TARGET_INTERVAL  # 6,667 values/s
CORES = os.cpu_count() or 1
RRD_BYTES_PER_SENSOR = 126840  # the default archives (collectors/rrd.h)
VALUE_FAMILIES = ("ipmi_temperature_celsius", "ipmi_fan_speed_rpm", "ipmi_voltage_volts",
                  "ipmi_current_amperes", "ipmi_power_watts", "ipmi_sensor_value")


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


fail = ib.fail


# ---- /metrics -----------------------------------------------------------------


def get_metrics(url):
    """The /metrics text (metrics.auth is 0 by default: no token)."""
    import http.client
    import urllib.parse
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    try:
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        body = r.read().decode(errors="replace")
    finally:
        conn.close()
    if r.status != 200:
        fail(f"GET /metrics: HTTP {r.status}")
    return body


LABELS = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(body):
    """Per-node poll counters, the collector's own gauges, values per node."""
    polls, errors, dur, values = {}, {}, [], {}
    other = {}
    for ln in body.splitlines():
        if not ln or ln[0] == "#":
            continue
        name, brace, rest = ln.partition("{")
        if not brace:
            k, _, v = ln.partition(" ")
            other[k] = float(v)
            continue
        labels, _, value = rest.rpartition("} ")
        kv = dict(LABELS.findall(labels))
        if name in ("underlay_polls_total", "underlay_poll_errors_total",
                    "underlay_poll_duration_seconds"):
            key = (kv.get("node"), kv.get("kind"))
            if name == "underlay_polls_total":
                polls[key] = float(value)
            elif name == "underlay_poll_errors_total":
                errors[key] = float(value)
            elif kv.get("kind") == "sensors":
                dur.append(float(value))
        elif name in VALUE_FAMILIES:
            values[kv.get("node")] = values.get(kv.get("node"), 0) + 1
    return {"polls": polls, "errors": errors, "durations": dur, "values": values,
            "other": other}


def kind_sum(d, kind):
    """Over the simulated BMCs only (bmcN): fake nodes, enrolled to grow the
    fleet the API serves, have no sensors and fail every poll."""
    return sum(v for (n, k), v in d.items() if k == kind and n and n.startswith("bmc"))


def curl_get(url, count):
    """COUNT GETs of URL in one curl process (one kept-alive connection):
    [(ms, bytes)]."""
    cmd = ["curl", "-s", "--max-time", "60"]
    for _ in range(count):
        cmd += ["-o", "/dev/null", "-w", "%{time_total} %{size_download} %{http_code}\\n", url]
    out = subprocess.run(cmd, capture_output=True, text=True)
    rows = [ln.split() for ln in out.stdout.splitlines() if ln.strip()]
    if out.returncode != 0 or len(rows) != count or any(r[2] != "200" for r in rows):
        fail(f"curl {url}: rc {out.returncode}: {out.stdout[:200]} {out.stderr[:200]}")
    return [(float(r[0]) * 1000.0, int(r[1])) for r in rows]


def curl_metrics(url, count, spaced=0.25):
    """GET /metrics with curl: COUNT times back to back on one connection
    (after the first, mostly the cached text: a sweep lands every
    interval/N seconds), and COUNT/3 times SPACED s apart, each after sweeps
    have landed (what a Prometheus scrape every 15 s gets: a rendering)."""
    b2b = curl_get(f"{url}/metrics", count)
    spaced_t = []
    for _ in range(max(count // 3, 1)):
        time.sleep(spaced)
        spaced_t += curl_get(f"{url}/metrics", 1)
    t = [x for x, _ in b2b]
    return {"median_ms": statistics.median(t), "min_ms": min(t),
            "rendered_ms": statistics.median(x for x, _ in spaced_t),
            "bytes": statistics.median(n for _, n in b2b)}


# ---- rrdcached ---------------------------------------------------------------------


def rrdc(sock, command):
    """One command to rrdcached; returns (status line, following lines)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock)
    try:
        s.sendall(command.encode() + b"\n")
        f = s.makefile("r")
        head = f.readline().strip()
        n = int(head.split(" ", 1)[0])
        lines = [f.readline().strip() for _ in range(max(n, 0))]
        return head, lines
    finally:
        s.close()


def rrdc_stats(sock):
    head, lines = rrdc(sock, "STATS")
    out = {}
    for ln in lines:
        k, _, v = ln.partition(":")
        out[k.strip()] = int(v)
    return out


# ---- RRD files ---------------------------------------------------------------------


def rrd_files(rrd_dir):
    return sorted(glob.glob(os.path.join(rrd_dir, "*", "*.rrd")))


def lastupdate(path, sock=None):
    cmd = ["rrdtool", "lastupdate", path] + (["--daemon", f"unix:{sock}"] if sock else [])
    out = subprocess.run(cmd, capture_output=True, text=True)
    m = re.search(r"^(\d+):", out.stdout, re.M)
    if out.returncode != 0 or not m:
        fail(f"rrdtool lastupdate {path}: {out.stderr.strip()[:200]}")
    return int(m.group(1))


def check_files(rrd_dir, t0, t1, nodes, values_per_node, sample=5):
    """Every node's files exist, were written in the window, and their last
    update is recent."""
    files = rrd_files(rrd_dir)
    fresh = sum(1 for f in files if os.stat(f).st_mtime >= t0)
    step = max(1, len(files) // sample)
    ages = [round(t1 - lastupdate(f)) for f in files[::step][:sample]]
    return {"files": len(files), "expected": nodes * values_per_node, "fresh": fresh,
            "lastupdate_age_max": max(ages) if ages else None}


# ---- the phases ------------------------------------------------------------------


def phase_enroll(a):
    ports, _ = ib.load_sims(a.simdir, a.n)
    api = ib.Api(a.url, a.token)
    log(f"enrolling {a.n} IPMI nodes and {a.fake} fake nodes")
    ib.enroll(api, ports, a.fake)


def threads_cpu_ms(pid):
    """CPU of every thread of PID in ms, from the scheduler's nanosecond
    counters (/proc/PID/task/*/schedstat): rrdcached spends too little for
    the 10 ms clock ticks of /proc/PID/stat."""
    total = 0
    for t in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(t) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that just ended
    return total / 1e6


def tree_cpu_ms(pid):
    """CPU of PID (with its reaped children) and of every live descendant,
    in ms: "all processes" of a daemon, whatever it spawns."""
    try:
        # threads' nanosecond counters (10 ms ticks are too coarse for a
        # few ms per sweep), plus the reaped children's ticks
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
        fields = data[data.rindex(")") + 2:].split()
        total = threads_cpu_ms(pid) + (int(fields[13]) + int(fields[14])) * 1000.0 / ib.TICK
    except (OSError, ValueError, IndexError):
        return 0.0
    for t in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            with open(t) as f:
                kids = [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            continue
        for k in kids:
            total += tree_cpu_ms(k)
    return total


def api_latency(a, seconds=10.0, conns=4):
    """GET node, fleet and sensors reads on CONNS kept-alive connections for
    SECONDS while the fleet is polled: {kind: {n, p50_ms, p99_ms}}."""
    import threading
    kinds = {"node": lambda i: f"/api/v1/nodes/bmc{i % a.n}",
             "fleet": lambda i: "/api/v1/fleet",
             "sensors": lambda i: f"/api/v1/nodes/bmc{i % a.n}/sensors"}
    lat = {k: [] for k in kinds}
    errors = []
    stop = time.monotonic() + seconds

    import http.client
    import urllib.parse
    u = urllib.parse.urlsplit(a.url)
    headers = {"Authorization": f"Bearer {a.token}"}

    def worker(w):
        # Raw http.client: the time is the daemon's answer, not JSON parsing.
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        i = w
        while time.monotonic() < stop:
            for k, path in kinds.items():
                t0 = time.perf_counter()
                try:
                    conn.request("GET", path(i), headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                except (http.client.HTTPException, OSError) as e:
                    errors.append(f"GET {path(i)}: {e}")
                    return
                if resp.status != 200:
                    errors.append(f"GET {path(i)}: HTTP {resp.status}")
                    return
                lat[k].append((time.perf_counter() - t0) * 1000.0)
            i += conns
        conn.close()
    th = [threading.Thread(target=worker, args=(w,)) for w in range(conns)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    if errors:
        fail(f"API reads: {errors[0]}")
    out = {}
    for k, v in lat.items():
        v.sort()
        out[k] = {"n": len(v), "p50_ms": v[len(v) // 2] if v else None,
                  "p99_ms": v[min(len(v) - 1, int(len(v) * 0.99))] if v else None}
    return out


def phase_floor(a, r):
    """The in-process floor: bench/ipmi/sweep_floor (the IPMI driver alone,
    session and SDR kept) sweeping simulator 0."""
    ports, sims = ib.load_sims(a.simdir, a.n)
    fa = argparse.Namespace(floor=a.floor, floor_sweeps=a.floor_sweeps,
                            workdir=os.path.dirname(a.results))
    log(f"in-process floor: bench/ipmi/sweep_floor, {a.floor_sweeps} sweeps")
    r["floor"] = ib.floor(fa, ports[0], sims, False)
    return r


def mem_gb():
    with open("/proc/meminfo") as f:
        for ln in f:
            if ln.startswith("MemTotal:"):
                return int(ln.split()[1]) / 1048576.0
    return 0.0


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1]) / 1024.0
    return 0.0


def phase_poll(a, r):
    _, sims = ib.load_sims(a.simdir, a.n)
    url = a.url
    # Warm-up: every node swept once (session open, SDR cache read, RRD
    # files created; the scheduler's start-up jitter spreads these over one
    # interval), then a second for the last ones to settle.
    deadline = time.monotonic() + 3 * a.interval + 60
    log(f"{a.mode}: warming up (every node swept once)")
    while True:
        m = parse_metrics(get_metrics(url))
        swept = [n for (n, k), v in m["polls"].items()
                 if k == "sensors" and v >= 1 and n.startswith("bmc")]
        if len(swept) >= a.n:
            break
        if time.monotonic() > deadline:
            fail(f"{a.mode}: only {len(swept)} of {a.n} nodes swept; "
                 f"errors: {kind_sum(m['errors'], 'sensors'):.0f}")
        time.sleep(0.5)
    time.sleep(1)
    values = m["values"].get("bmc0", 0)
    if values < 1:
        fail(f"{a.mode}: node bmc0 has no readings in /metrics")
    log(f"{a.mode}: measuring {a.window:.0f} s (poll.sensor_interval={a.interval:.0f} s, "
        f"{a.n} nodes, {values} values per sweep)")
    rc = lambda: threads_cpu_ms(a.rrdcached_pid) if a.rrdcached_pid else 0.0  # noqa: E731
    st0 = rrdc_stats(a.rrdcached_sock) if a.rrdcached_sock else None
    m0 = parse_metrics(get_metrics(url))
    t0 = time.time()
    r0 = rc()
    all0 = tree_cpu_ms(a.daemon_pid)
    with ib.Meter(sims, a.daemon_pid) as meter:
        time.sleep(a.window)
    all1 = tree_cpu_ms(a.daemon_pid)
    r1 = rc()
    t1 = time.time()
    m1 = parse_metrics(get_metrics(url))
    st1 = rrdc_stats(a.rrdcached_sock) if a.rrdcached_sock else None
    sweeps = kind_sum(m1["polls"], "sensors") - kind_sum(m0["polls"], "sensors")
    errors = kind_sum(m1["errors"], "sensors") - kind_sum(m0["errors"], "sensors")
    other_polls = (kind_sum(m1["polls"], "sel") - kind_sum(m0["polls"], "sel")
                   + kind_sum(m1["polls"], "inventory") - kind_sum(m0["polls"], "inventory"))
    if sweeps < a.n or errors:
        fail(f"{a.mode}: {sweeps:.0f} sweeps of {a.n} nodes in {a.window} s, {errors:.0f} failed")
    wall_s = meter.wall / 1000.0
    res = {
        "mode": a.mode, "label": a.label, "n": a.n, "interval": a.interval,
        "workers": a.workers,
        "window_s": wall_s, "sweeps": sweeps, "sweeps_s": sweeps / wall_s,
        "scheduled_s": a.n / a.interval, "values_per_sweep": values,
        "values_s": sweeps * values / wall_s, "other_polls": other_polls,
        "cpu_sweep": meter.cpu / sweeps, "sim_sweep": meter.sim / sweeps,
        "daemon_cpu_frac": meter.cpu / meter.wall,
        "sim_cpu_frac": meter.sim / meter.wall,
        "poll_ms": statistics.median(m1["durations"]) * 1000.0 if m1["durations"] else None,
        "overruns": m1["other"].get("underlay_collector_overruns_total", 0) -
        m0["other"].get("underlay_collector_overruns_total", 0),
        "rss_mb": rss_mb(a.daemon_pid),
        # every process the configuration needs: underlayd and what it
        # spawns, plus the rrdcached this script started in rrdcached modes
        "all_cpu_sweep": ((all1 - all0) + (r1 - r0)) / sweeps,
    }
    if st0 is not None:
        upd = st1["UpdatesReceived"] - st0["UpdatesReceived"]
        res.update({"rrdcached_updates": upd, "rrdcached_updates_s": upd / wall_s,
                    "rrdcached_cpu_sweep": (r1 - r0) / sweeps,
                    "rrdcached_cpu_value": (r1 - r0) / upd if upd else None,
                    "rrdcached_cpu_frac": (r1 - r0) / meter.wall})
    if a.api_seconds > 0:
        log(f"{a.mode}: API reads (node, fleet, sensors) for {a.api_seconds:.0f} s, 4 connections")
        res["api"] = api_latency(a, a.api_seconds)
        res["rss_mb"] = rss_mb(a.daemon_pid)
        res["fleet_nodes"] = a.n + a.fake
    log(f"{a.mode}: GET /metrics x {a.metrics_gets} (curl, one connection)")
    res["metrics_get"] = curl_metrics(url, a.metrics_gets)
    if a.rrdcached_sock:
        # The daemon holds the updates (-w 1800): writing the files out is a
        # separate cost.  FLUSHALL, and wait for the queue to drain.
        log(f"{a.mode}: rrdcached FLUSHALL")
        s0, c0, w0 = rrdc_stats(a.rrdcached_sock), rc(), time.perf_counter()
        head, _ = rrdc(a.rrdcached_sock, "FLUSHALL")
        if not head.startswith("0"):
            fail(f"rrdcached FLUSHALL: {head}")
        deadline = time.monotonic() + 60
        while True:
            time.sleep(0.05)
            s1 = rrdc_stats(a.rrdcached_sock)
            if s1["QueueLength"] == 0 and s1["UpdatesWritten"] > s0["UpdatesWritten"]:
                break
            if time.monotonic() > deadline:
                fail("rrdcached did not finish its flush within 60 s")
        c1, w1 = rc(), time.perf_counter()
        # rrdcached(1): UpdatesWritten counts rrd_update calls (one per file
        # written), DataSetsWritten the values they carried.
        files = s1["UpdatesWritten"] - s0["UpdatesWritten"]
        written = s1["DataSetsWritten"] - s0["DataSetsWritten"]
        accept = (s1["UpdatesReceived"] - s0["UpdatesReceived"]) * (res["rrdcached_cpu_value"] or 0)
        res["flush"] = {"files": files, "values": written, "wall_ms": (w1 - w0) * 1000.0,
                        "cpu_ms": c1 - c0, "cpu_file_ms": max(c1 - c0 - accept, 0) / files}
        res["files"] = check_files(a.rrd_dir, t0, t1, a.n, values)
    elif a.mode == "default":
        # Coalesced: readings wait in memory until a read or flush_interval.
        # Listing a node's history writes its readings: do so for the sample.
        api = ib.Api(a.url, a.token)
        for i in range(a.n):
            api.req("GET", f"/api/v1/nodes/bmc{i}/history", want=200)
        res["files"] = check_files(a.rrd_dir, t0, time.time(), a.n, values)
    elif a.mode == "nohistory":
        res["files"] = None
    else:
        res["files"] = check_files(a.rrd_dir, t0, t1, a.n, values)
    f = res["files"]
    if f and (f["files"] < f["expected"] or f["fresh"] < f["expected"]):
        log(f"WARNING: {a.mode}: {f['files']} RRD files ({f['expected']} expected), "
            f"{f['fresh']} written in the window")
    r.setdefault("modes", []).append(res)
    return r


def phase_render(a, r):
    out = {}
    for mode in ("synthetic", "realistic"):
        cmd = [a.metrics_render, "-n", str(a.render_nodes), "-s", str(a.render_sensors),
               "-r", str(a.render_repeats)] + (["--realistic"] if mode == "realistic" else [])
        log(f"metrics_render: {a.render_nodes} nodes x {a.render_sensors} sensors, {mode}")
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            fail(f"metrics_render: {p.stderr.strip()[:300]}")
        kv = dict(x.split("=", 1) for x in p.stdout.split()[1:])
        out[mode] = {k: (v if k == "mode" else float(v)) for k, v in kv.items()}
    r["render"] = out
    return r


# ---- the tables ----------------------------------------------------------------------


def f1(x, w=8, d=1):
    return f"{x:{w}.{d}f}" if x is not None else f"{'-':>{w}}"


def table(r):
    out = []
    modes = r.get("modes", [])
    if modes:
        m0 = modes[0]
        out.append(f"Sustained polling: {m0['n']} ipmi_sim BMCs, poll.sensor_interval="
                   f"{m0['interval']:.0f} s, jobs.workers={m0['workers']}, {m0['values_per_sweep']} values "
                   f"per sweep, {m0['window_s']:.0f} s windows")
        out.append(f"{'':30}{'sweeps/s':>9}{'values/s':>9}{'CPU/sweep':>10}{'rrdcd':>7}"
                   f"{'sim':>6}{'poll':>6}{'daemon':>8}{'RSS':>6}")
        out.append(f"{'':30}{'':>9}{'':>9}{'(ms)':>10}{'(ms)':>7}{'(ms)':>6}{'(ms)':>6}"
                   f"{'CPU %':>8}{'(MB)':>6}")
        for m in modes:
            out.append(f"{m['label']:30}{f1(m['sweeps_s'], 9)}{f1(m['values_s'], 9, 0)}"
                       f"{f1(m['cpu_sweep'], 10, 2)}{f1(m.get('rrdcached_cpu_sweep'), 7, 2)}"
                       f"{f1(m['sim_sweep'], 6)}{f1(m['poll_ms'], 6)}"
                       f"{f1(m['daemon_cpu_frac'] * 100, 8)}{f1(m['rss_mb'], 6, 0)}")
        out.append("  (scheduled: %.1f sweeps/s; CPU %% of one core)" % m0["scheduled_s"])
        fl = r.get("floor")
        if fl:
            out.append("")
            out.append(f"CPU per sweep, all processes (underlayd + what it spawns + rrdcached), "
                       f"against the in-process floor (bench/ipmi/sweep_floor, session and SDR "
                       f"kept: {fl['cpu']:.2f} ms over {fl['sweeps']} sweeps of "
                       f"{fl['sensors']} sensors)")
            floor_ms = fl["cpu"]
            for m in modes:
                x = m["all_cpu_sweep"] / floor_ms
                verdict = ""
                if m["mode"] == "default":
                    verdict = f"  target <= 1.3x: {'MET' if x <= 1.3 else 'MISSED'}"
                out.append(f"  {m['label']:36}{m['all_cpu_sweep']:7.2f} ms = {x:4.2f}x the "
                           f"floor{verdict}")
        if any("api" in m for m in modes):
            out.append("")
            out.append("Memory and API reads while the fleet is polled (4 connections, "
                       "node / fleet / sensors in turn)")
            out.append(f"{'':36}{'RSS/node':>9}{'node p50/p99':>15}{'fleet p50/p99':>16}"
                       f"{'sensors p50/p99':>18}   (RSS over every node enrolled)")
            for m in modes:
                if "api" not in m:
                    continue
                ap = m["api"]
                cell = lambda k: f"{ap[k]['p50_ms']:.1f}/{ap[k]['p99_ms']:.1f}"  # noqa: E731
                out.append(f"  {m['label']:34}"
                           f"{m['rss_mb'] * 1024 / m.get('fleet_nodes', m['n']):7.0f}KB"
                           f"{cell('node'):>15}{cell('fleet'):>16}{cell('sensors'):>18}"
                           f"  (ms; {ap['fleet']['n']} fleet reads of "
                           f"{m.get('fleet_nodes', m['n'])} nodes)")
        for m in modes:
            f = m["files"]
            line = (f"  {m['label']}: {m['sweeps']:.0f} sweeps, 0 failed, {m['overruns']:.0f} "
                    f"overruns, {m['other_polls']:.0f} SEL/inventory polls; ")
            line += (f"RRD files {f['files']}/{f['expected']}, {f['fresh']} written in the "
                     f"window, last update <= {f['lastupdate_age_max']} s old" if f
                     else "no history (rrd.enabled=0)")
            if "rrdcached_updates" in m:
                line += (f"; rrdcached received {m['rrdcached_updates_s']:.0f} updates/s "
                         f"({m['rrdcached_cpu_value'] * 1000:.1f} us CPU each)")
            out.append(line)
            if "flush" in m:
                fl = m["flush"]
                out.append(f"    FLUSHALL: {fl['files']} files ({fl['values']} values) written in "
                           f"{fl['wall_ms']:.0f} ms, {fl['cpu_file_ms']:.3f} ms rrdcached CPU "
                           f"per file")
            g = m["metrics_get"]
            out.append(f"    GET /metrics ({g['bytes'] / 1024:.0f} KB, curl): "
                       f"{g.get('rendered_ms', 0):.2f} ms after sweeps landed (rendered), "
                       f"back to back {g['median_ms']:.2f} ms median, {g['min_ms']:.2f} min")
    if "render" in r:
        out.append("")
        rs = r["render"]["synthetic"]
        out.append(f"/metrics for {rs['nodes']:.0f} nodes x {rs['sensors']:.0f} sensors "
                   f"(bench/telemetry/metrics_render, median of {r.get('render_repeats', 5)})")
        out.append(f"{'readings':12}{'MB':>7}{'series':>9}{'first':>8}{'rerender':>9}"
                   f"{'cached':>8}{'blocked':>8}{'RSS MB':>8}   (ms)")
        for k in ("synthetic", "realistic"):
            x = r["render"][k]
            out.append(f"{k:12}{x['bytes'] / 1e6:7.1f}{x['series']:9.0f}{x['first_ms']:8.0f}"
                       f"{x['rerender_ms']:9.0f}{x['cached_ms']:8.1f}{x['blocked_ms']:8.0f}"
                       f"{x['maxrss_mb']:8.0f}")
        out.append("  rerender: after one node's sweep (nearly every scrape of a polling "
                   "daemon); cached: nothing changed;")
        out.append("  blocked: a worker's latest_sensors_ok() arriving during a rendering")
    if modes:
        out.append("")
        out += extrapolate(r)
    return "\n".join(out)


def projected(m, scrape):
    """(underlayd, rrdcached, total) in % of one core at the target rate."""
    d = m["cpu_sweep"] * TARGET_SWEEPS / 10.0
    rc = 0.0
    if m.get("rrdcached_cpu_value"):
        rc = m["rrdcached_cpu_value"] * TARGET_VALUES / 10.0
        if "flush" in m:
            # -w 1800: each file is written out once per 1800 s.
            rc += m["flush"]["cpu_file_ms"] * TARGET_NODES * TARGET_SENSORS / 1800.0 / 10.0
    return d, rc, d + rc + scrape


def extrapolate(r):
    """CPU the target needs at the measured per-sweep costs."""
    modes = {m["mode"]: m for m in r["modes"]}
    out = [f"Extrapolation to {TARGET_NODES:,} BMCs x {TARGET_SENSORS} sensors every "
           f"{TARGET_INTERVAL} s = {TARGET_SWEEPS:.0f} sweeps/s, {TARGET_VALUES:,.0f} values/s "
           f"({CORES} cores = {CORES * 100}% CPU; rrdcached writing each file every 1800 s = "
           f"{TARGET_NODES * TARGET_SENSORS / 1800.0:.0f} files/s; /metrics re-rendered for "
           f"every 15 s scrape)"]
    rend = r.get("render", {}).get("realistic")
    scrape = (rend["rerender_cpu_ms"] / 15.0 / 10.0) if rend else 0.0  # % of a core
    for m in r["modes"]:
        d, rc, total = projected(m, scrape)
        verdict = ""
        if m["mode"] != "direct":
            verdict = f": target {'MET' if total < CORES * 100 else 'MISSED'}"
        out.append(f"  {m['label']:29} underlayd {d:3.0f}% + rrdcached {rc:4.1f}% + /metrics "
                   f"{scrape:.1f}% = {total:3.0f}% of a core, {total / CORES:3.0f}% of the "
                   f"machine{verdict}")
    if "expired" in modes:
        out.append("  (at a 60 s interval every sweep finds its session closed, "
                   "bmc.session_idle being 45 s: the 'new session/sweep' row applies)")
    if "direct" in modes:
        rrd_gb = TARGET_NODES * TARGET_SENSORS * RRD_BYTES_PER_SENSOR / 1e9
        out.append(f"  direct librrd at the target: {rrd_gb:.0f} GB of RRD files against "
                   f"{mem_gb():.0f} GB of RAM here; out of the page cache direct updates fall "
                   f"to ~3.5k/s (DESIGN), below the {TARGET_VALUES:,.0f}/s needed: the CPU "
                   f"figure above holds only while the files stay cached")
    if modes:
        m = modes.get("rrdcached") or next(iter(modes.values()))
        if m.get("poll_ms"):
            inflight = TARGET_SWEEPS * m["poll_ms"] / 1000.0
            out.append(f"  concurrency: {TARGET_SWEEPS:.0f} sweeps/s x {m['poll_ms']:.0f} ms per "
                       f"poll here = {inflight:.1f} polls in flight (jobs.workers={m['workers']});"
                       f" a real BMC taking 0.5-1 s per sweep needs "
                       f"{TARGET_SWEEPS * 0.5:.0f}-{TARGET_SWEEPS:.0f} workers (FreeIPMI blocks)")
        m = next(iter(modes.values()))
        sim = m["sim_sweep"] * TARGET_SWEEPS / 10.0
        out.append(f"  not counted: the BMCs' side (ipmi_sim here: {m['sim_sweep']:.1f} ms per "
                   f"sweep = {sim:.0f}% of a core at {TARGET_SWEEPS:.0f} sweeps/s, sharing "
                   f"these {CORES} cores in this run)")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("phase", choices=["enroll", "floor", "poll", "render", "table"])
    p.add_argument("--results", required=True)
    p.add_argument("--n", type=int)
    p.add_argument("--simdir")
    p.add_argument("--url")
    p.add_argument("--token-file")
    p.add_argument("--daemon-pid", type=int)
    p.add_argument("--mode", choices=["default", "direct", "nohistory", "rrdcached", "expired"])
    p.add_argument("--fake", type=int, default=0)
    p.add_argument("--floor")
    p.add_argument("--floor-sweeps", type=int, default=50)
    p.add_argument("--api-seconds", type=float, default=10)
    p.add_argument("--label")
    p.add_argument("--interval", type=float, default=5)
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--window", type=float, default=60)
    p.add_argument("--rrd-dir")
    p.add_argument("--rrdcached-sock")
    p.add_argument("--rrdcached-pid", type=int)
    p.add_argument("--metrics-gets", type=int, default=20)
    p.add_argument("--metrics-render")
    p.add_argument("--render-nodes", type=int, default=10000)
    p.add_argument("--render-sensors", type=int, default=40)
    p.add_argument("--render-repeats", type=int, default=3)
    a = p.parse_args()

    r = {}
    if os.path.exists(a.results):
        with open(a.results) as f:
            r = json.load(f)
    if a.phase == "table":
        print(table(r), flush=True)
        return
    if a.phase == "render":
        if not a.metrics_render:
            p.error("--metrics-render is required")
        r = phase_render(a, r)
        r["render_repeats"] = a.render_repeats
    else:
        for opt in ("n", "simdir", "url", "token_file"):
            if getattr(a, opt) is None:
                p.error(f"--{opt.replace('_', '-')} is required for phase {a.phase}")
        with open(a.token_file) as f:
            a.token = f.readline().strip()
        if a.phase == "enroll":
            phase_enroll(a)
            return
        if a.phase == "floor":
            if not a.floor:
                p.error("--floor is required for phase floor")
            r = phase_floor(a, r)
            with open(a.results, "w") as f:
                json.dump(r, f, indent=1)
            return
        for opt in ("daemon_pid", "mode", "rrd_dir"):
            if getattr(a, opt) is None:
                p.error(f"--{opt.replace('_', '-')} is required for phase poll")
        a.label = a.label or a.mode
        r = phase_poll(a, r)
    with open(a.results, "w") as f:
        json.dump(r, f, indent=1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
