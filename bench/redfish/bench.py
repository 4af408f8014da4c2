#!/usr/bin/env python3
"""bench/redfish/bench.py - the measuring half of bench/redfish/run.sh.

run.sh starts (and always stops) every process: one underlayd (poll
scheduler off) and, one set after the other, N Redfish emulator instances
(tests/redfish/emulator.py): with TCP_NODELAY, then as shipped.  This script
only talks to them and reads their CPU counters, in phases that share one
results file:
  main    one emulator set: enrol N Redfish nodes, warm up, learn from the
          emulators' request counters what one underlayd sweep fetches, then
          K timed rounds of one sensors job per node (all N at once), and the
          same resources fetched by curl: one process per BMC (kept alive
          within it), and one `curl --parallel` for all
  table   print the table
Standard library only; the CPU and API helpers come from bench/ipmi/bench.py.

Where the numbers come from
  underlayd CPU   /proc/PID/stat utime+stime of the daemon (all threads: HTTP
                  API, job records in SQLite, the driver's requests and JSON)
  curl CPU        getrusage(RUSAGE_CHILDREN) deltas in this process
  emulator CPU    the same /proc counters summed over the emulator PIDs
  wall            time.perf_counter() per round: first POST (or curl start)
                  to the last job final (or the last curl exit)
"""

import argparse
import http.client
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # nothing written next to bench/ipmi/bench.py
_spec = importlib.util.spec_from_file_location(
    "ipmi_bench", os.path.join(HERE, "..", "ipmi", "bench.py"))
ib = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ib)

log, fail, Meter, Api = ib.log, ib.fail, ib.Meter, ib.Api
USER, PASSWORD = "admin", "password"
# What the driver appends to a Sensors collection when the service root
# advertises ExpandQuery with Levels (redfish/walk.c, read_page).
EXPAND = "$expand=.($levels=1)"


def load_emus(emudir, n):
    urls, pids = [], []
    for i in range(n):
        with open(f"{emudir}/emu{i}.url") as f:
            urls.append(f.read().strip())
        with open(f"{emudir}/emu{i}.pid") as f:
            pids.append(int(f.read().strip()))
    return urls, pids


def http_json(url, method="GET", path="/", body=None, headers=None):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        raw = r.read()
        return r.status, r.getheaders(), (json.loads(raw) if raw else None)
    finally:
        conn.close()


def emu_requests(url):
    """{(method, path): count} from the emulator's control API."""
    st, _, body = http_json(url, path="/_emulator/state")
    if st != 200:
        fail(f"{url}/_emulator/state: HTTP {st}")
    return {(m, p): c for p, per in body["requests"].items() for m, c in per.items()}


def diff(a, b):
    return {k: b[k] - a.get(k, 0) for k in b if b[k] - a.get(k, 0)}


def check_job(job, where):
    if job["state"] != "succeeded":
        fail(f"{where}: job {job['id']} on {job['node']} {job['state']}: {job.get('error')}")
    sensors = job["result"]["sensors"]
    values = [s for s in sensors if s.get("value") is not None]
    if len(sensors) < 15 or not any(s["name"].startswith("Inlet") for s in values):
        fail(f"{where}: job {job['id']}: {len(sensors)} sensors, {len(values)} values")
    if not job["result"]["power_reading"].get("supported"):
        fail(f"{where}: job {job['id']}: no power reading")
    return len(sensors), len(values)


def sensors_round(api, nodes, poll):
    """N sensors jobs, then poll until none is left; (job ids, polls)."""
    ids = [api.submit(n, "sensors", {}) for n in nodes]
    return ids, api.wait_idle(poll)


def poll_cost(api, pid, polls=500):
    """Daemon CPU of one of our "anything left?" polls (two GET /api/v1/jobs
    counts) on an idle daemon: what our own polling adds to a round."""
    with Meter([], pid) as m:
        for _ in range(polls):
            if api.count("state=queued") or api.count("state=running"):
                fail("jobs were left while measuring the cost of polling")
    return m.cpu / polls


# ---- underlayd ---------------------------------------------------------------------


def underlayd_rounds(a, api, nodes, emus):
    failed0 = api.count("type=sensors&state=failed")
    walls, polls = [], 0
    with Meter(emus, a.daemon_pid) as m:
        for _ in range(a.rounds):
            t0 = time.perf_counter()
            last, p = sensors_round(api, nodes, a.poll)
            walls.append((time.perf_counter() - t0) * 1000.0)
            polls += p
    if api.count("type=sensors&state=failed") != failed0:
        fail("some timed sensors jobs failed")
    for jid in last:
        nsens, nval = check_job(api.job(jid), "timed round")
    sweeps = a.rounds * len(nodes)
    pc = poll_cost(api, a.daemon_pid)
    return {"cpu_raw": m.cpu / sweeps, "cpu": (m.cpu - polls * pc) / sweeps,
            "polling": polls * pc / sweeps, "poll_ms": pc, "polls_round": polls / a.rounds,
            "emu": m.sim / sweeps, "wall_round": statistics.median(walls),
            "sensors": nsens, "values": nval, "sweeps": sweeps}


def underlayd_latency(a, api, node):
    lat = []
    for _ in range(a.latency_samples):
        t0 = time.perf_counter()
        jid = api.submit(node, "sensors", {})
        while True:
            job = api.job(jid)
            if job["state"] in ib.FINAL:
                break
            time.sleep(0.002)
        lat.append((time.perf_counter() - t0) * 1000.0)
        check_job(job, "latency")
    return statistics.median(lat)


def job_overhead(a, api, nodes, pc):
    """The job engine + API alone: power status on fake:// nodes (in-process
    simulated BMC, no I/O), >= 1,000 jobs, same submission and polling as the
    sensors rounds, polling subtracted."""
    rounds = max(a.rounds, -(-1000 // len(nodes)))
    for n in nodes:
        api.submit(n, "power", {"action": "status"})
    api.wait_idle(a.poll)
    polls = 0
    with Meter([], a.daemon_pid) as m:
        for _ in range(rounds):
            ids = [api.submit(n, "power", {"action": "status"}) for n in nodes]
            polls += api.wait_idle(a.poll)
    for jid in ids:
        if api.job(jid)["state"] != "succeeded":
            fail(f"fake power status job {jid} did not succeed")
    return (m.cpu - polls * pc) / (rounds * len(nodes))


# ---- curl --------------------------------------------------------------------------

WOUT = "%{http_code} %{size_download} %{num_connects}\\n"


def curl_one_cmd(url, token, paths):
    cmd = ["curl", "-s", "--max-time", "30", "-H", f"X-Auth-Token: {token}",
           "-H", "Accept: application/json", "-w", WOUT]
    for p in paths:
        cmd += ["-o", "/dev/null", url + p]
    return cmd


def curl_parallel_cmd(urls, tokens, paths):
    cmd = ["curl", "-s", "--parallel", "--parallel-max", str(len(urls)), "--max-time", "30"]
    for i, (url, tok) in enumerate(zip(urls, tokens)):
        if i:
            cmd.append("--next")
        cmd += ["-H", f"X-Auth-Token: {tok}", "-H", "Accept: application/json", "-w", WOUT]
        for p in paths:
            cmd += ["-o", "/dev/null", url + p]
    return cmd


def check_curl(out, transfers, sizes, where):
    rows = [ln.split() for ln in out.stdout.splitlines() if ln.strip()]
    bad = [r for r in rows if r[0] != "200"]
    if out.returncode != 0 or len(rows) != transfers or bad:
        fail(f"{where}: curl rc {out.returncode}, {len(rows)} of {transfers} transfers, "
             f"not 200: {bad[:3]} {out.stderr[:200]}")
    for r in rows:
        sizes.append(int(r[1]))
    return sum(int(r[2]) for r in rows)


def curl_round_per_bmc(urls, tokens, paths, sizes):
    procs = [subprocess.Popen(curl_one_cmd(u, t, paths), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for u, t in zip(urls, tokens)]
    conns = 0
    for p in procs:
        so, se = p.communicate()
        conns += check_curl(subprocess.CompletedProcess(p.args, p.returncode, so, se),
                            len(paths), sizes, "curl per BMC")
    return conns


def curl_round_parallel(urls, tokens, paths, sizes):
    out = subprocess.run(curl_parallel_cmd(urls, tokens, paths), capture_output=True, text=True)
    return check_curl(out, len(urls) * len(paths), sizes, "curl --parallel")


def curl_rows(a, urls, tokens, paths, emus):
    res = {}
    for key, fn in (("curl", curl_round_per_bmc), ("curl_parallel", curl_round_parallel)):
        sizes = []
        fn(urls, tokens, paths, sizes)  # warm-up (page cache, the emulators' threads)
        walls, conns = [], 0
        with Meter(emus) as m:
            for _ in range(a.rounds):
                t0 = time.perf_counter()
                conns += fn(urls, tokens, paths, sizes)
                walls.append((time.perf_counter() - t0) * 1000.0)
        sweeps = a.rounds * len(urls)
        res[key] = {"cpu": m.cpu / sweeps, "emu": m.sim / sweeps,
                    "wall_round": statistics.median(walls), "conns_per_sweep": conns / sweeps,
                    "bytes_per_sweep": sum(sizes) / (len(sizes) / len(paths))}
    lat = []
    for _ in range(a.latency_samples):
        t0 = time.perf_counter()
        out = subprocess.run(curl_one_cmd(urls[0], tokens[0], paths), capture_output=True,
                             text=True)
        lat.append((time.perf_counter() - t0) * 1000.0)
        check_curl(out, len(paths), [], "curl latency")
    res["curl"]["latency"] = statistics.median(lat)
    return res


def login(url):
    st, headers, _ = http_json(url, "POST", "/redfish/v1/SessionService/Sessions",
                               {"UserName": USER, "Password": PASSWORD})
    tok = {k.lower(): v for k, v in headers}.get("x-auth-token")
    if st != 201 or not tok:
        fail(f"{url}: login for curl: HTTP {st}")
    return tok


# ---- the phase ---------------------------------------------------------------------


def phase_main(a, r):
    urls, emus = load_emus(a.emudir, a.n)
    api = Api(a.url, a.token)
    nodes = [f"{a.prefix}{i}" for i in range(a.n)]
    log(f"{a.variant}: enrolling {a.n} Redfish nodes")
    for name, url in zip(nodes, urls):
        api.req("POST", "/api/v1/nodes", {"name": name, "endpoint": url, "username": USER,
                                          "password": PASSWORD}, want=201)
    log(f"{a.variant}: warm-up round (sessions, links followed once)")
    for jid in sensors_round(api, nodes, a.poll)[0]:
        check_job(api.job(jid), "warm-up")
    # What one warm sweep asks of each BMC.
    before = [emu_requests(u) for u in urls]
    for jid in sensors_round(api, nodes, a.poll)[0]:
        check_job(api.job(jid), "probe round")
    per = [diff(b, emu_requests(u)) for b, u in zip(before, urls)]
    if any(p != per[0] for p in per):
        fail(f"the BMCs saw different requests in one round: {per[:3]}")
    sweep = per[0]
    if any(m != "GET" for m, _ in sweep):
        fail(f"a warm sweep made other requests than GETs: {sweep}")
    paths = []
    for (m, p), c in sorted(sweep.items()):
        q = f"?{EXPAND}" if p.rstrip("/").lower().endswith("/sensors") else ""
        paths += [p + q] * c
    log(f"{a.variant}: one sweep = " + ", ".join(f"GET {p}" for p in paths))

    res = {"variant": a.variant, "label": a.label, "n": a.n, "rounds": a.rounds,
           "paths": paths}
    log(f"{a.variant}: underlayd, {a.rounds} rounds of {a.n} sensors jobs")
    res["underlayd"] = underlayd_rounds(a, api, nodes, emus)
    res["underlayd"]["latency"] = underlayd_latency(a, api, nodes[0])
    if a.fake:
        fakes = [f"fake{i}" for i in range(a.n)]
        for f in fakes:
            api.req("POST", "/api/v1/nodes", {"name": f, "endpoint": f"fake://{f}"}, want=201)
        res["job_overhead"] = job_overhead(a, api, fakes, res["underlayd"]["poll_ms"])

    tokens = [login(u) for u in urls]
    before = [emu_requests(u) for u in urls]
    sizes = []
    curl_round_per_bmc(urls, tokens, paths, sizes)
    got = [diff(b, emu_requests(u)) for b, u in zip(before, urls)]
    if any(g != sweep for g in got):
        fail(f"curl's requests differ from underlayd's: {got[0]} vs {sweep}")
    log(f"{a.variant}: curl, {a.rounds} rounds over {a.n} BMCs (per BMC; --parallel)")
    res.update(curl_rows(a, urls, tokens, paths, emus))
    r.setdefault("variants", []).append(res)
    return r


# ---- the table ---------------------------------------------------------------------


def table(r):
    vs = r.get("variants", [])
    if not vs:
        return "no results"
    v0 = vs[0]
    n = v0["n"]
    c = v0["curl"]
    out = [f"N={n} Redfish emulators (HTTP, 127.0.0.1), {v0['rounds']} rounds, all {n} sweeps "
           f"of a round at once; a sweep = " + " + ".join(f"GET {p}" for p in v0["paths"]) +
           f" ({c['bytes_per_sweep'] / 1024:.1f} KB), X-Auth-Token session",
           f"{'':34}{'wall/round':>11}{'CPU/sweep':>10}{'emu CPU':>9}{'latency':>9}   (ms)"]

    def f(x, w, d=1):
        return f"{x:{w}.{d}f}" if x is not None else f"{'-':>{w}}"

    for v in vs:
        out.append(v["label"])
        u = v["underlayd"]
        rows = [("  underlayd (sensors job)", u["wall_round"], u["cpu"], u["emu"], u["latency"])]
        if "job_overhead" in v:
            rows.append(("    job+API alone (fake BMC)", None, v["job_overhead"], None, None))
        rows += [("  curl, one process per BMC", v["curl"]["wall_round"], v["curl"]["cpu"],
                  v["curl"]["emu"], v["curl"].get("latency")),
                 ("  curl --parallel, one process", v["curl_parallel"]["wall_round"],
                  v["curl_parallel"]["cpu"], v["curl_parallel"]["emu"], None)]
        for label, wall, cpu, emu, lat in rows:
            out.append(f"{label:34}{f(wall, 11)}{f(cpu, 10, 2)}{f(emu, 9, 2)}{f(lat, 9)}")
        out.append(f"  underlayd CPU/sweep without the bench's job polling ({u['polls_round']:.0f} "
                   f"polls/round x {u['poll_ms']:.2f} ms); as measured: {u['cpu_raw']:.2f} ms")
        out.append(f"  ratios: CPU curl/underlayd {v['curl']['cpu'] / u['cpu']:.1f}, "
                   f"curl --parallel/underlayd {v['curl_parallel']['cpu'] / u['cpu']:.2f}; "
                   f"emulator CPU / underlayd CPU {u['emu'] / u['cpu']:.1f}; "
                   f"connections per sweep: curl {v['curl']['conns_per_sweep']:.1f}, "
                   f"--parallel {v['curl_parallel']['conns_per_sweep']:.1f}")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("phase", choices=["main", "table"])
    p.add_argument("--results", required=True)
    p.add_argument("--n", type=int)
    p.add_argument("--emudir")
    p.add_argument("--url")
    p.add_argument("--token-file")
    p.add_argument("--daemon-pid", type=int)
    p.add_argument("--variant")
    p.add_argument("--label")
    p.add_argument("--prefix", default="rf")
    p.add_argument("--fake", action="store_true", help="also measure the job engine alone "
                   "(power status on fake:// nodes)")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--poll", type=float, default=0.005)
    p.add_argument("--latency-samples", type=int, default=10)
    a = p.parse_args()

    r = {}
    if os.path.exists(a.results):
        with open(a.results) as f:
            r = json.load(f)
    if a.phase == "table":
        print(table(r), flush=True)
        return
    for opt in ("n", "emudir", "url", "token_file", "daemon_pid", "variant"):
        if getattr(a, opt) is None:
            p.error(f"--{opt.replace('_', '-')} is required for phase main")
    with open(a.token_file) as f:
        a.token = f.readline().strip()
    a.label = a.label or a.variant
    r = phase_main(a, r)
    with open(a.results, "w") as f:
        json.dump(r, f, indent=1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
