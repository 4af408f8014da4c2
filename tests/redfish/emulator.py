#!/usr/bin/env python3
"""emulator.py - underlay's stateful Redfish BMC emulator (standard library
only).  See README.md in this directory.

  python3 tests/redfish/emulator.py --port P [--https [--cert C --key K]]
      [--systems N | --mockup DIR] [--user admin --password password]
      [--power-delay S] [fault flags] [--pidfile F] ...

Listens on 127.0.0.1 only and prints "listening on http(s)://127.0.0.1:P"
once it answers.  SIGTERM or SIGINT stops it (exit 0).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

sys.dont_write_bytecode = True      # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from rfemu.power import ALL_RESET_TYPES                      # noqa: E402
from rfemu.server import Config, Emulator, Server, \
    check_faults, make_ssl_context                           # noqa: E402

DEFAULT_RESET_TYPES = ("On", "ForceOff", "GracefulShutdown", "ForceRestart",
                       "GracefulRestart", "PowerCycle", "Nmi")


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="emulator.py",
        description="Stateful Redfish BMC emulator for underlay's tests "
                    "(127.0.0.1 only).")
    g = p.add_argument_group("service")
    g.add_argument("--port", type=int, required=True,
                   help="TCP port on 127.0.0.1 (0: any free port)")
    g.add_argument("--https", action="store_true",
                   help="serve HTTPS (self-signed certificate made with "
                        "openssl unless --cert/--key are given)")
    g.add_argument("--cert", help="PEM certificate for --https")
    g.add_argument("--key", help="PEM private key for --https")
    g.add_argument("--systems", type=int, default=1,
                   help="ComputerSystems (each with its Chassis and "
                        "Manager), default 1")
    g.add_argument("--mockup", metavar="DIR",
                   help="serve a DMTF-format mockup directory instead of "
                        "the generated tree")
    g.add_argument("--user", default="admin")
    g.add_argument("--password", default="password")
    g.add_argument("--pidfile", help="write the PID here once listening")
    g.add_argument("--verbose", action="store_true",
                   help="log every request on stderr")
    g.add_argument("--seed", type=int, default=None,
                   help="seed of the fault randomness")
    g.add_argument("--emuctl-tag", help=argparse.SUPPRESS)
    g.add_argument("--max-body", type=int, default=1024 * 1024,
                   help="largest request body accepted (bytes), else 413")

    g = p.add_argument_group("behaviour")
    g.add_argument("--power-delay", type=float, default=1.0,
                   help="seconds a power transition takes (PoweringOn/"
                        "PoweringOff meanwhile), default 1")
    g.add_argument("--initial-power", choices=("On", "Off"), default="On")
    g.add_argument("--reset-types", default=",".join(DEFAULT_RESET_TYPES),
                   help="allowable ResetType values (comma list, from %s)"
                        % ",".join(ALL_RESET_TYPES))
    g.add_argument("--action-info", action="store_true",
                   help="publish Reset's allowable values in an ActionInfo "
                        "resource instead of the action")
    g.add_argument("--reset-status", type=int, choices=(200, 204),
                   default=204,
                   help="status of a successful Reset (204, or 200 with a "
                        "Success message)")
    g.add_argument("--max-sessions", type=int, default=4)
    g.add_argument("--session-limit-status", type=int, choices=(400, 503),
                   default=503,
                   help="status when the session limit is hit (default 503)")
    g.add_argument("--session-timeout", type=int, default=1800,
                   help="idle seconds before a session expires")
    g.add_argument("--no-basic", dest="basic", action="store_false",
                   help="refuse HTTP Basic authentication")
    g.add_argument("--no-session-service", dest="session_service",
                   action="store_false",
                   help="no SessionService at all (Basic only)")
    g.add_argument("--login-no-token", action="store_true",
                   help="a login answers 201 without an X-Auth-Token "
                   "(a stub SessionService): clients must use Basic")
    g.add_argument("--no-system-chassis", dest="system_chassis",
                   action="store_false",
                   help="systems carry no Links.Chassis")
    g.add_argument("--no-chassis-systems", dest="chassis_systems",
                   action="store_false",
                   help="chassis carry no Links.ComputerSystems")
    g.add_argument("--no-expand", dest="expand", action="store_false",
                   help="do not support $expand (the query is ignored)")
    g.add_argument("--reject-expand", action="store_true",
                   help="with --no-expand: answer $expand with 501 "
                        "QueryNotSupported instead of ignoring it")
    g.add_argument("--page-size", type=int, default=0,
                   help="page collections larger than this "
                        "(Members@odata.nextLink), 0: never")
    g.add_argument("--log-interval", type=float, default=0,
                   help="add a log entry to each log every S seconds")
    g.add_argument("--log-max", type=int, default=1000,
                   help="MaxNumberOfRecords of each log (oldest dropped)")
    g.add_argument("--max-subscriptions", type=int, default=20)
    g.add_argument("--event-retry-interval", type=int, default=2,
                   help="DeliveryRetryIntervalSeconds (default 2)")
    g.add_argument("--bmc-reset-downtime", type=float, default=0,
                   help="seconds of 503 after Manager.Reset")
    g.add_argument("--no-bios", dest="bios", action="store_false",
                   help="no Bios resource (systems have no Bios link)")
    g.add_argument("--no-bios-registry", dest="bios_registry",
                   action="store_false",
                   help="Bios without a published attribute registry (no "
                        "AttributeRegistry property, no registry file)")
    g.add_argument("--bios-apply-times", default="Immediate,OnReset",
                   help="SupportedApplyTimes of the BIOS settings (comma "
                        "list of Immediate, OnReset); default both")
    g.add_argument("--no-storage", dest="storage", action="store_false",
                   help="no Storage (systems have no Storage link)")
    g.add_argument("--task-step-ms", type=int, default=300,
                   help="duration of one task step (default 300 ms; also "
                        "the task_step_ms fault)")
    g.add_argument("--max-image-size", type=int, default=64 * 1024 * 1024,
                   help="largest firmware image (MaxImageSizeBytes; body "
                        "limit of the push URIs), default 64 MiB")

    g = p.add_argument_group("faults (also settable at run time through "
                             "POST /_emulator/faults)")
    g.add_argument("--latency-ms", type=float, default=0)
    g.add_argument("--error-rate", type=float, default=0)
    g.add_argument("--error-status", type=int, default=503)
    g.add_argument("--fail-next", type=int, default=0)
    g.add_argument("--malformed-json", action="store_true")
    g.add_argument("--drop-connection", action="store_true")
    g.add_argument("--exhaust-sessions", action="store_true")
    g.add_argument("--graceful-ignored", action="store_true")
    g.add_argument("--fault-path", default="",
                   help="apply faults only under this path prefix")
    args = p.parse_args(argv)

    if not (args.port == 0 or 1 <= args.port <= 65535):
        p.error("--port must be 0 or 1..65535")
    if args.systems < 1 or args.systems > 256:
        p.error("--systems must be 1..256")
    if bool(args.cert) != bool(args.key):
        p.error("--cert and --key go together")
    if (args.cert or args.key) and not args.https:
        p.error("--cert/--key need --https")
    if args.mockup and not os.path.isdir(args.mockup):
        p.error("--mockup %s: not a directory" % args.mockup)
    types = [t.strip() for t in args.reset_types.split(",") if t.strip()]
    unknown = [t for t in types if t not in ALL_RESET_TYPES]
    if unknown or not types:
        p.error("--reset-types: unknown %s" % ",".join(unknown))
    args.reset_types = types
    times = [t.strip() for t in args.bios_apply_times.split(",") if t.strip()]
    if not times or any(t not in ("Immediate", "OnReset") for t in times):
        p.error("--bios-apply-times: a comma list of Immediate, OnReset")
    args.bios_apply_times = times
    if args.max_sessions < 0 or args.page_size < 0 or args.log_max < 1 \
            or args.power_delay < 0 or args.log_interval < 0 \
            or args.max_body < 1024 or args.task_step_ms < 0 \
            or args.max_image_size < 1024:
        p.error("negative or too small value")
    args.faults = {
        "latency_ms": args.latency_ms,
        "error_rate": args.error_rate,
        "status": args.error_status,
        "fail_next": args.fail_next,
        "malformed_json": args.malformed_json,
        "drop_connection": args.drop_connection,
        "exhaust_sessions": args.exhaust_sessions,
        "graceful_ignored": args.graceful_ignored,
        "path_prefix": args.fault_path,
        "task_step_ms": args.task_step_ms,
    }
    problem = check_faults(args.faults)
    if problem:
        p.error(problem)
    return args


def self_signed(tmpdir):
    cert = os.path.join(tmpdir, "cert.pem")
    key = os.path.join(tmpdir, "key.pem")
    if shutil.which("openssl") is None:
        raise SystemExit("--https without --cert/--key needs the openssl "
                         "command")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert,
                    "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2"],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return cert, key


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    tmpdir = None
    ssl_ctx = None
    if args.https:
        cert, key = args.cert, args.key
        if not cert:
            tmpdir = tempfile.mkdtemp(prefix="rfemu-cert.")
            cert, key = self_signed(tmpdir)
        ssl_ctx = make_ssl_context(cert, key)
    config = Config(
        port=args.port, scheme="https" if args.https else "http",
        systems=args.systems, mockup=args.mockup, user=args.user,
        password=args.password, verbose=args.verbose, seed=args.seed,
        max_body=args.max_body, power_delay=args.power_delay,
        initial_power=args.initial_power, reset_types=args.reset_types,
        action_info=args.action_info, reset_status=args.reset_status,
        max_sessions=args.max_sessions,
        session_limit_status=args.session_limit_status,
        session_timeout=args.session_timeout, basic=args.basic,
        session_service=args.session_service, expand=args.expand,
        login_no_token=args.login_no_token,
        system_chassis=args.system_chassis,
        chassis_systems=args.chassis_systems,
        no_expand_status=501 if args.reject_expand else 0,
        page_size=args.page_size, log_interval=args.log_interval,
        log_max=args.log_max, max_subscriptions=args.max_subscriptions,
        event_retry_interval=args.event_retry_interval,
        bmc_reset_downtime=args.bmc_reset_downtime, bios=args.bios,
        bios_registry=args.bios_registry,
        bios_apply_times=args.bios_apply_times, storage=args.storage,
        task_step_ms=args.task_step_ms, max_image_size=args.max_image_size,
        faults=args.faults)
    try:
        server = Server(None, args.port, ssl_ctx)
    except OSError as exc:
        print("emulator.py: cannot listen on 127.0.0.1:%d: %s"
              % (args.port, exc), file=sys.stderr)
        return 1
    config.port = server.server_address[1]
    emu = Emulator(config)
    server.emu = emu
    emu.start()

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.pidfile:
        with open(args.pidfile + ".tmp", "w") as fh:
            fh.write("%d\n" % os.getpid())
        os.replace(args.pidfile + ".tmp", args.pidfile)
    print("listening on %s://127.0.0.1:%d" % (config.scheme, config.port),
          flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        emu.stop()
        server.server_close()
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
