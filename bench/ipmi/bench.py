#!/usr/bin/env python3
"""bench/ipmi/bench.py - the measuring half of bench/ipmi/run.sh.

run.sh starts (and always stops) every process: N ipmi_sim instances, the
underlayd instances, one Prometheus IPMI exporter.  This script only talks to
them and reads their CPU counters, in phases that share one results file:
  main    everything against an underlayd with default settings
  cold    sweeps that find their session expired (underlayd with
          bmc.session_idle=1, nodes enrolled by this phase)
  poller  the daemon's own poll scheduler (restarted on cold's data directory)
  table   print the table for one N
Standard library only.

Where the numbers come from
  CPU of a daemon     /proc/PID/stat utime+stime (+cutime+cstime: the
                      exporter's tools are its children), clock ticks -> ms
  CPU of a tool run   getrusage(RUSAGE_CHILDREN) deltas in this process
  simulator CPU       the same /proc counters summed over our ipmi_sim PIDs
  wall                time.perf_counter()
Every figure is total CPU (or wall) of a phase divided by the sweeps in it.
"""

import argparse
import concurrent.futures as cf
import http.client
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

TICK = os.sysconf("SC_CLK_TCK")
FIPMI = ["-D", "LAN_2_0", "-u", "admin", "-p", "password", "-W", "opensesspriv", "-I", "3"]
NODE_OPTIONS = {"workarounds": ["opensesspriv"], "quirks": ["boot-flags-no-valid-bit"]}


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def fail(msg):
    log(f"ERROR: {msg}")
    sys.exit(1)


def proc_cpu_ms(pid, children=True):
    """utime+stime (+ reaped children's) of PID in ms."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()  # fields[0] is field 3 (state)
    ut, st, cut, cst = (int(x) for x in fields[11:15])
    return (ut + st + ((cut + cst) if children else 0)) * 1000.0 / TICK


def children_cpu_ms():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1000.0


class Meter:
    """CPU of one process (or of our children), of the simulators, and wall."""

    def __init__(self, sim_pids, pid=None):
        self.sim_pids = sim_pids
        self.pid = pid

    def _cpu(self):
        return proc_cpu_ms(self.pid) if self.pid else children_cpu_ms()

    def _sims(self):
        return sum(proc_cpu_ms(p) for p in self.sim_pids)

    def __enter__(self):
        self.c0, self.s0, self.t0 = self._cpu(), self._sims(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = (time.perf_counter() - self.t0) * 1000.0
        self.cpu = self._cpu() - self.c0
        self.sim = self._sims() - self.s0
        return False


# ---- underlayd's REST API ----------------------------------------------------


class Api:
    """A kept-alive connection to underlayd (one per thread)."""

    def __init__(self, url, token):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.token = u.hostname, u.port, token
        self.conn = None

    def req(self, method, path, body=None, want=None):
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        out = json.loads(raw) if raw else None
        if want is not None and r.status != want:
            fail(f"{method} {path}: HTTP {r.status} (wanted {want}): {raw[:300]!r}")
        return r.status, out

    def submit(self, node, op, body):
        _, out = self.req("POST", f"/api/v1/nodes/{node}/{op}", body, want=202)
        return out["job"]["id"]

    def job(self, jid):
        return self.req("GET", f"/api/v1/jobs/{jid}", want=200)[1]

    def count(self, query):
        return self.req("GET", f"/api/v1/jobs?{query}&limit=1", want=200)[1]["total"]

    def wait_idle(self, poll_s, timeout_s=300):
        """Wait until no job is queued or running; returns the number of polls."""
        deadline = time.monotonic() + timeout_s
        polls = 0
        while True:
            polls += 1
            if self.count("state=queued") == 0 and self.count("state=running") == 0:
                return polls
            if time.monotonic() > deadline:
                fail(f"jobs still unfinished after {timeout_s} s")
            time.sleep(poll_s)


FINAL = ("succeeded", "failed", "canceled")


def check_sensor_job(job, where):
    if job["state"] != "succeeded":
        fail(f"{where}: job {job['id']} on {job['node']} {job['state']}: {job.get('error')}")
    sensors = job["result"]["sensors"]
    values = [s for s in sensors if s.get("value") is not None]
    if len(sensors) < 40 or not any(s["name"] == "Inlet Temp" for s in values):
        fail(f"{where}: job {job['id']}: {len(sensors)} sensors, {len(values)} values")
    return len(sensors), len(values)


def underlayd_sweeps(a, api, nodes, pid, sims):
    """Warm-up round, then K timed rounds of one sensors job per node."""
    log(f"underlayd: warm-up sweep of {len(nodes)} BMCs (sessions, SDR caches)")
    ids = [api.submit(n, "sensors", {}) for n in nodes]
    api.wait_idle(a.poll)
    for jid in ids:
        nsens, nval = check_sensor_job(api.job(jid), "warm-up")
    failed0 = api.count("type=sensors&state=failed")
    log(f"underlayd: {a.rounds} rounds of {len(nodes)} sensors jobs")
    polls = 0
    last = []
    with Meter(sims, pid) as m:
        for _ in range(a.rounds):
            last = [api.submit(n, "sensors", {}) for n in nodes]
            polls += api.wait_idle(a.poll)
    if api.count("type=sensors&state=failed") != failed0:
        fail("some timed sensors jobs failed")
    for jid in last:
        check_sensor_job(api.job(jid), "timed round")
    sweeps = a.rounds * len(nodes)
    return {"cpu": m.cpu / sweeps, "sim": m.sim / sweeps, "wall": m.wall / sweeps,
            "polls": polls, "sensors": nsens, "values": nval, "sweeps": sweeps}


def underlayd_latency(a, api, node):
    """One sensors job at a time: POST, poll it every 2 ms until final."""
    lat = []
    for _ in range(a.latency_samples):
        t0 = time.perf_counter()
        jid = api.submit(node, "sensors", {})
        while True:
            job = api.job(jid)
            if job["state"] in FINAL:
                break
            time.sleep(0.002)
        lat.append((time.perf_counter() - t0) * 1000.0)
        check_sensor_job(job, "latency")
    return statistics.median(lat)


def underlayd_job_overhead(a, api, nodes, pid):
    """The job engine + API alone: power status on fake:// nodes (in-process
    simulated BMC, no I/O).  Same rounds and polling as the sensors phase."""
    rounds = max(a.rounds, -(-1000 // len(nodes)))  # >= 1000 jobs: they are cheap
    ids = [api.submit(n, "power", {"action": "status"}) for n in nodes]
    api.wait_idle(a.poll)
    with Meter([], pid) as m:
        for _ in range(rounds):
            ids = [api.submit(n, "power", {"action": "status"}) for n in nodes]
            api.wait_idle(a.poll)
    for jid in ids:
        if api.job(jid)["state"] != "succeeded":
            fail(f"fake power status job {jid} did not succeed")
    return m.cpu / (rounds * len(nodes))


def underlayd_cold(a, api, nodes, pid, sims):
    """Sweeps that find their node's cached session expired, as every sweep
    does when the poll interval exceeds bmc.session_idle (this daemon runs
    with bmc.session_idle=1): wait past it before each round, and time only
    the rounds."""
    log(f"underlayd (bmc.session_idle=1): warm-up sweep of {len(nodes)} BMCs")
    ids = [api.submit(n, "sensors", {}) for n in nodes]
    api.wait_idle(a.poll)
    for jid in ids:
        check_sensor_job(api.job(jid), "warm-up")
    log(f"underlayd (bmc.session_idle=1): {a.rounds} rounds, each after "
        f"{a.idle_wait} s idle")
    cpu = sim = wall = 0.0
    for _ in range(a.rounds):
        time.sleep(a.idle_wait)
        with Meter(sims, pid) as m:
            ids = [api.submit(n, "sensors", {}) for n in nodes]
            api.wait_idle(a.poll)
        cpu, sim, wall = cpu + m.cpu, sim + m.sim, wall + m.wall
        for jid in ids:
            check_sensor_job(api.job(jid), "expired-session round")
    sweeps = a.rounds * len(nodes)
    return {"cpu": cpu / sweeps, "sim": sim / sweeps, "wall": wall / sweeps}


def poll_metrics(api):
    """{(metric, node, kind): value} of the poller's per-node counters in /metrics."""
    conn = http.client.HTTPConnection(api.host, api.port, timeout=120)
    try:
        conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {api.token}"})
        r = conn.getresponse()
        body = r.read().decode(errors="replace")
    finally:
        conn.close()
    if r.status != 200:
        fail(f"GET /metrics: HTTP {r.status}")
    out = {}
    for ln in body.splitlines():
        for metric in ("underlay_polls_total", "underlay_poll_errors_total",
                       "underlay_poll_duration_seconds"):
            if ln.startswith(metric + "{"):
                labels, _, value = ln[len(metric) + 1:].rpartition("} ")
                kv = dict(x.split("=", 1) for x in labels.split(","))
                out[(metric, kv["node"].strip('"'), kv["kind"].strip('"'))] = float(value)
    return out


def sensor_polls(m, metric="underlay_polls_total"):
    return {node: v for (name, node, kind), v in m.items() if name == metric and kind == "sensors"}


def underlayd_poller(a, api, n, pid, sims):
    """The daemon's own poll scheduler (no HTTP, no job records): every node
    swept each poll.sensor_interval; sweeps counted from /metrics."""
    deadline = time.monotonic() + 3 * a.poll_interval + 30
    log(f"underlayd poller: waiting for a first sweep of all {n} BMCs")
    while len(sensor_polls(poll_metrics(api))) < n:
        if time.monotonic() > deadline:
            fail("the poll scheduler did not sweep every node")
        time.sleep(0.5)
    time.sleep(a.poll_interval)  # every node has its SDR cache and a session
    log(f"underlayd poller: measuring {a.poll_window:.0f} s "
        f"(poll.sensor_interval={a.poll_interval:.0f} s)")
    m0 = poll_metrics(api)
    with Meter(sims, pid) as m:
        time.sleep(a.poll_window)
    m1 = poll_metrics(api)
    p0, p1 = sensor_polls(m0), sensor_polls(m1)
    sweeps = sum(p1[k] - p0.get(k, 0) for k in p1)
    errors = sum(sensor_polls(m1, "underlay_poll_errors_total").values()) - \
        sum(sensor_polls(m0, "underlay_poll_errors_total").values())
    if sweeps < n or errors:
        fail(f"poller: {sweeps:.0f} sweeps of {n} nodes in {a.poll_window} s, {errors:.0f} errors")
    durations = list(sensor_polls(m1, "underlay_poll_duration_seconds").values())
    return {"cpu": m.cpu / sweeps, "sim": m.sim / sweeps, "sweeps": sweeps,
            "latency": statistics.median(durations) * 1000.0 if durations else None}


def enroll(api, ports, nfake):
    for i, port in enumerate(ports):
        api.req("POST", "/api/v1/nodes", {
            "name": f"bmc{i}", "endpoint": f"ipmi://127.0.0.1:{port}",
            "username": "admin", "password": "password", "options": NODE_OPTIONS}, want=201)
    for i in range(nfake):
        api.req("POST", "/api/v1/nodes", {"name": f"fake{i}", "endpoint": f"fake://fake{i}"},
                want=201)


# ---- the in-process floor -----------------------------------------------------


def floor(a, port, sims, reopen):
    n = a.floor_sweeps if not reopen else max(10, a.floor_sweeps // 4)
    cmd = [a.floor, "-n", str(n)] + (["--reopen"] if reopen else []) + [
        f"ipmi://127.0.0.1:{port}", "admin", "password", json.dumps(NODE_OPTIONS),
        os.path.join(a.workdir, "floor-cache")]
    with Meter(sims) as m:
        out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"sweep_floor: {out.stderr.strip()}")
    kv = dict(x.split("=", 1) for x in out.stdout.split()[1:])
    # The sims' CPU also covers the warm-up sweep and session set-up: spread
    # over n + 1 sweeps it is an estimate.
    return {"cpu": float(kv["cpu_ms"]), "wall": float(kv["wall_ms"]), "sim": m.sim / (n + 1),
            "sensors": int(kv["sensors"]), "sweeps": n}


# ---- ipmi-sensors ---------------------------------------------------------------


def ipmi_sensors_cmd(a, port):
    return ["ipmi-sensors", "-h", f"127.0.0.1:{port}"] + FIPMI + [
        "-l", "ADMIN", f"--sdr-cache-directory={a.workdir}/fipmi-cache", "--quiet-cache"]


def run_ipmi_sensors(a, port):
    out = subprocess.run(ipmi_sensors_cmd(a, port), capture_output=True)
    lines = out.stdout.splitlines()
    inlet = [ln for ln in lines if b"| Inlet Temp " in ln]
    if out.returncode != 0 or len(lines) < 40 or not inlet or b"N/A" in inlet[0]:
        fail(f"ipmi-sensors on port {port}: rc {out.returncode}, {len(lines)} lines: "
             f"{out.stderr.decode(errors='replace')[:300]}")
    return len(lines) - 1  # header


def ipmi_sensors(a, ports, sims, pool):
    os.makedirs(f"{a.workdir}/fipmi-cache", mode=0o700, exist_ok=True)
    log(f"ipmi-sensors: warming the SDR cache of {len(ports)} BMCs")
    list(pool.map(lambda p: run_ipmi_sensors(a, p), ports))
    log(f"ipmi-sensors: {a.rounds} rounds over {len(ports)} BMCs, {a.parallel} at a time")
    with Meter(sims) as m:
        for _ in range(a.rounds):
            list(pool.map(lambda p: run_ipmi_sensors(a, p), ports))
    sweeps = a.rounds * len(ports)
    lat = []
    for _ in range(a.latency_samples):
        t0 = time.perf_counter()
        run_ipmi_sensors(a, ports[0])
        lat.append((time.perf_counter() - t0) * 1000.0)
    return {"cpu": m.cpu / sweeps, "sim": m.sim / sweeps, "wall": m.wall / sweeps,
            "latency": statistics.median(lat)}


# ---- the Prometheus IPMI exporter ---------------------------------------------------

_local = threading.local()


def scrape(a, port, module):
    u = urllib.parse.urlsplit(a.exporter_url)
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    try:
        conn.request("GET", f"/ipmi?target=127.0.0.1:{port}&module={module}")
        r = conn.getresponse()
        body = r.read().decode(errors="replace")
    except (http.client.HTTPException, OSError):
        conn.close()
        _local.conn = None
        raise
    temps = body.count("\nipmi_temperature_celsius{")
    if r.status != 200 or temps < 1 or 'ipmi_up{collector="ipmi"} 1' not in body:
        fail(f"exporter scrape of port {port} ({module}): HTTP {r.status}, {temps} "
             f"temperature lines: {body[:300]!r}")
    return temps


def exporter(a, ports, sims, pool, module):
    log(f"exporter ({module}): warm-up scrape of {len(ports)} BMCs")
    list(pool.map(lambda p: scrape(a, p, module), ports))
    log(f"exporter ({module}): {a.rounds} rounds over {len(ports)} BMCs, "
        f"{a.parallel} at a time")
    with Meter(sims, a.exporter_pid) as m:
        for _ in range(a.rounds):
            list(pool.map(lambda p: scrape(a, p, module), ports))
    sweeps = a.rounds * len(ports)
    lat = []
    for _ in range(a.latency_samples):
        t0 = time.perf_counter()
        scrape(a, ports[0], module)
        lat.append((time.perf_counter() - t0) * 1000.0)
    return {"cpu": m.cpu / sweeps, "sim": m.sim / sweeps, "wall": m.wall / sweeps,
            "latency": statistics.median(lat)}


# ---- power status fan-out --------------------------------------------------------


def power_underlay(a, n, sims):
    env = dict(os.environ, UNDERLAY_URL=a.url, UNDERLAY_TOKEN=a.token,
               HOME=os.path.join(a.workdir, "home"))
    env.pop("UNDERLAY_TOKEN_FILE", None)
    env.pop("UNDERLAY_CONFIG", None)
    os.makedirs(env["HOME"], exist_ok=True)
    cmd = [a.cli, "-o", "json", "power", "status", f"bmc[0-{n - 1}]"]
    runs = []
    for _ in range(a.power_runs):
        with Meter(sims, a.daemon_pid) as m:
            c0 = children_cpu_ms()
            out = subprocess.run(cmd, capture_output=True, text=True, env=env)
            cli = children_cpu_ms() - c0
        try:
            res = json.loads(out.stdout)
            on = sum(1 for r in res if r.get("ok") and r["job"]["state"] == "succeeded"
                     and (r["job"].get("result") or {}).get("power") == "on")
        except (ValueError, KeyError, TypeError):
            on = -1
        if out.returncode != 0 or on != n:
            fail(f"underlay power status: rc {out.returncode}, {on} of {n} on: "
                 f"{out.stderr.strip()[:300]}")
        runs.append({"wall": m.wall, "cpu": m.cpu, "cli": cli, "sim": m.sim})
    return runs


def power_ipmipower(a, ports, sims):
    cmd = ["ipmipower", "-h", ",".join(f"127.0.0.1:{p}" for p in ports)] + FIPMI + ["--stat"]
    runs = []
    for _ in range(a.power_runs):
        with Meter(sims) as m:
            out = subprocess.run(cmd, capture_output=True, text=True)
        on = sum(1 for ln in out.stdout.splitlines() if ln.rstrip().endswith(": on"))
        if out.returncode != 0 or on != len(ports):
            fail(f"ipmipower --stat: rc {out.returncode}, {on} of {len(ports)} on: "
                 f"{(out.stdout + out.stderr)[:300]}")
        runs.append({"wall": m.wall, "cpu": m.cpu, "sim": m.sim})
    return runs


def med(runs, key):
    return statistics.median(r[key] for r in runs)


# ---- the table ----------------------------------------------------------------------


def table(r):
    n = r["n"]
    ud, fl, fr = r["underlayd"], r["floor"], r["floor_reopen"]
    rows = [
        ("underlayd (sensors job)", ud["cpu"], ud["sim"], ud["wall"], r["underlayd_latency"]),
        ("  in-process floor", fl["cpu"], fl["sim"], None, fl["wall"]),
        ("  floor, new session/sweep", fr["cpu"], fr["sim"], None, fr["wall"]),
        ("  job+API alone (fake BMC)", r["job_overhead"], None, None, None),
    ]
    if "underlayd_cold" in r:
        c = r["underlayd_cold"]
        rows.append(("underlayd, session expired", c["cpu"], c["sim"], c["wall"], None))
    if "underlayd_poller" in r:
        c = r["underlayd_poller"]
        rows.append((f"underlayd poller, {r['poll_interval']:.0f} s", c["cpu"], c["sim"], None,
                     c["latency"]))
    rows += [
        ("ipmi-sensors, warm cache", r["ipmi_sensors"]["cpu"], r["ipmi_sensors"]["sim"],
         r["ipmi_sensors"]["wall"], r["ipmi_sensors"]["latency"]),
    ]
    for key, label in (("exporter", "ipmi exporter, 4 collectors"),
                       ("exporter_ipmi", "ipmi exporter, ipmi only")):
        if key in r:
            e = r[key]
            rows.append((label, e["cpu"], e["sim"], e["wall"], e["latency"]))

    def f(x):
        return f"{x:8.1f}" if x is not None else f"{'-':>8}"

    out = [f"N={n}  ({r['rounds']} rounds x {n} BMCs, {r['parallel']} at a time; "
           f"{ud['sensors']} sensors, {ud['values']} with values)",
           f"{'':28} {'CPU/sweep':>9} {'sim CPU':>8} {'wall/sweep':>10} {'latency':>8}   (ms)"]
    for label, cpu, sim, wall, lat in rows:
        out.append(f"{label:28} {f(cpu):>9} {f(sim):>8} {f(wall):>10} {f(lat):>8}")
    ratio_s = r["ipmi_sensors"]["cpu"] / ud["cpu"]
    line = (f"ratio ipmi-sensors/underlayd = {ratio_s:.1f} (target >= 3: "
            f"{'met' if ratio_s >= 3 else 'MISSED'})")
    if "exporter" in r:
        ratio_e = r["exporter"]["cpu"] / ud["cpu"]
        line += (f", exporter/underlayd = {ratio_e:.1f} (target >= 10: "
                 f"{'met' if ratio_e >= 10 else 'MISSED'})")
    else:
        line += ", exporter: not measured (prometheus-ipmi-exporter missing)"
    out.append(line)
    if "underlayd_cold" in r:
        cold = r["underlayd_cold"]["cpu"]
        out.append(f"  with the session expired before each sweep (poll interval > "
                   f"bmc.session_idle): ipmi-sensors/underlayd = "
                   f"{r['ipmi_sensors']['cpu'] / cold:.1f}"
                   + (f", exporter/underlayd = {r['exporter']['cpu'] / cold:.1f}"
                      if "exporter" in r else ""))
    pu, pi = r["power_underlay"], r["power_ipmipower"]
    out.append(f"power status fan-out over {n}: underlay wall {med(pu, 'wall') / 1000:.2f} s "
               f"cpu {statistics.mean(x['cpu'] for x in pu):.0f} ms daemon "
               f"+ {statistics.mean(x['cli'] for x in pu):.0f} ms CLI | ipmipower wall "
               f"{med(pi, 'wall') / 1000:.2f} s cpu {statistics.mean(x['cpu'] for x in pi):.0f} ms"
               f"   (sim CPU {statistics.mean(x['sim'] for x in pu):.0f} vs "
               f"{statistics.mean(x['sim'] for x in pi):.0f} ms)")
    return "\n".join(out)


def load_sims(simdir, n):
    ports, pids = [], []
    for i in range(n):
        with open(f"{simdir}/bmc{i}/instance.env") as f:
            env = dict(ln.strip().split("=", 1) for ln in f if "=" in ln)
        ports.append(int(env["PORT"]))
        with open(f"{simdir}/bmc{i}.pid") as f:
            pids.append(int(f.read().strip()))
    return ports, pids


def phase_main(a):
    n = a.n
    ports, sims = load_sims(a.simdir, n)
    nodes = [f"bmc{i}" for i in range(n)]
    api = Api(a.url, a.token)
    log(f"enrolling {n} IPMI nodes and {n} fake nodes")
    enroll(api, ports, n)
    r = {"n": n, "rounds": a.rounds, "parallel": a.parallel}
    r["underlayd"] = underlayd_sweeps(a, api, nodes, a.daemon_pid, sims)
    log("underlayd: single-job latency")
    r["underlayd_latency"] = underlayd_latency(a, api, nodes[0])
    # While the daemon's sessions are still warm (bmc.session_idle is 45 s).
    log(f"power status fan-out over {n}: underlay CLI")
    r["power_underlay"] = power_underlay(a, n, sims)
    log("underlayd: job engine + API alone (fake nodes)")
    r["job_overhead"] = underlayd_job_overhead(a, api, [f"fake{i}" for i in range(n)],
                                               a.daemon_pid)
    log("in-process floor (sweep_floor)")
    r["floor"] = floor(a, ports[0], sims[:1], reopen=False)
    r["floor_reopen"] = floor(a, ports[0], sims[:1], reopen=True)
    with cf.ThreadPoolExecutor(a.parallel) as pool:
        r["ipmi_sensors"] = ipmi_sensors(a, ports, sims, pool)
        if a.exporter_url:
            r["exporter"] = exporter(a, ports, sims, pool, "bench")
            r["exporter_ipmi"] = exporter(a, ports, sims, pool, "sensors")
    log(f"power status fan-out over {n}: ipmipower")
    r["power_ipmipower"] = power_ipmipower(a, ports, sims)
    return r


def phase_cold(a, r):
    ports, sims = load_sims(a.simdir, a.n)
    api = Api(a.url, a.token)
    enroll(api, ports, 0)
    r["underlayd_cold"] = underlayd_cold(a, api, [f"bmc{i}" for i in range(a.n)],
                                         a.daemon_pid, sims)
    return r


def phase_poller(a, r):
    _, sims = load_sims(a.simdir, a.n)
    api = Api(a.url, a.token)
    r["underlayd_poller"] = underlayd_poller(a, api, a.n, a.daemon_pid, sims)
    r["poll_interval"] = a.poll_interval
    return r


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("phase", choices=["main", "cold", "poller", "table"],
                   help="main: everything against a default underlayd; cold: sweeps on "
                        "expired sessions (an underlayd run with bmc.session_idle=1); "
                        "poller: the daemon's own poll scheduler (nodes already enrolled); "
                        "table: print the results")
    p.add_argument("--results", required=True, help="JSON file: written by main, "
                   "extended by cold, read by table")
    p.add_argument("--n", type=int)
    p.add_argument("--simdir")
    p.add_argument("--workdir")
    p.add_argument("--url")
    p.add_argument("--token-file")
    p.add_argument("--daemon-pid", type=int)
    p.add_argument("--cli")
    p.add_argument("--floor")
    p.add_argument("--exporter-url")
    p.add_argument("--exporter-pid", type=int)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--parallel", type=int, default=16)
    p.add_argument("--latency-samples", type=int, default=15)
    p.add_argument("--floor-sweeps", type=int, default=100)
    p.add_argument("--power-runs", type=int, default=3)
    p.add_argument("--poll", type=float, default=0.02)
    p.add_argument("--idle-wait", type=float, default=1.5)
    p.add_argument("--poll-interval", type=float, default=5)
    p.add_argument("--poll-window", type=float, default=15)
    a = p.parse_args()

    if a.phase == "table":
        with open(a.results) as f:
            r = json.load(f)
        print(table(r), flush=True)
        return
    for opt in ("n", "simdir", "workdir", "url", "token_file", "daemon_pid"):
        if getattr(a, opt) is None:
            p.error(f"--{opt.replace('_', '-')} is required for phase {a.phase}")
    with open(a.token_file) as f:
        a.token = f.readline().strip()
    if a.phase == "main":
        if not a.cli or not a.floor:
            p.error("--cli and --floor are required for phase main")
        r = phase_main(a)
    else:
        with open(a.results) as f:
            r = json.load(f)
        r = phase_cold(a, r) if a.phase == "cold" else phase_poller(a, r)
    with open(a.results, "w") as f:
        json.dump(r, f, indent=1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
