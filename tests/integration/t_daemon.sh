#!/bin/bash
# underlayd as a program: --help, --version, configuration checking, refusing
# to start on an unusable data dir, a data dir in use or an address in use
# (with a message naming the culprit), and stopping cleanly on SIGINT.
. "$TOP_SRCDIR/tests/lib.sh"

# run_daemon ARGS...: run a daemon that is expected to exit by itself
# (bounded: one that starts serving instead is killed); sets RC and OUT.
# Callers always give -d and -l, so that a daemon that wrongly starts never
# touches the default data dir or port.
run_daemon() {
    OUT=$(timeout -s KILL 15 "$UNDERLAYD" "$@" 2>&1 </dev/null)
    RC=$?
    [ $RC -ne 137 ] || ul_fail "underlayd $* did not exit by itself; output: $OUT"
}

SCRATCH="$UL_TMP/scratch"
mkdir -p "$SCRATCH"

# ---- --help, --version, bad usage -------------------------------------------------
run_daemon --help
assert_eq "$RC" 0 "underlayd --help exit status"
assert_contains "$OUT" "Usage: underlayd" "--help"
assert_contains "$OUT" "--data-dir" "--help"
assert_contains "$OUT" "--check-config" "--help"

run_daemon --version
assert_eq "$RC" 0 "underlayd --version exit status"
VERSION=$(sed -n 's/^AC_INIT(\[underlay\], *\[\([^]]*\)\].*/\1/p' "$TOP_SRCDIR/configure.ac")
assert_eq "$OUT" "underlayd $VERSION" "--version"

run_daemon --no-such-option
assert_eq "$RC" 2 "exit status for an unknown option"
assert_contains "$OUT" "Usage" "unknown option"
run_daemon -d "$SCRATCH/x" -l 127.0.0.1:1 stray-argument
assert_eq "$RC" 2 "exit status for a stray argument"
assert_contains "$OUT" "stray-argument"

# ---- configuration --------------------------------------------------------------
PORT=$(ul_free_port)
GOOD="$UL_TMP/good.conf"
cat >"$GOOD" <<EOF
# Every section, with values other than the defaults.
[server]
data_dir = $SCRATCH/good-data
listen = 127.0.0.1:$PORT
http_threads = 2

[log]
level = debug
target = stderr

[jobs]
workers = 4
timeout = 60
retain_days = 7

[api]
max_body = 65536
page_default = 50
page_max = 500

[bmc]
timeout = 5
EOF
run_daemon -c "$GOOD" --check-config
assert_eq "$RC" 0 "--check-config on a good file; output: $OUT"
[ ! -e "$SCRATCH/good-data" ] || ul_fail "--check-config created the data directory"
# The example shipped with the sources must be accepted as it is.
EXAMPLE="$TOP_SRCDIR/etc/underlayd.conf.example"
if [ -f "$EXAMPLE" ]; then
    run_daemon -c "$EXAMPLE" --check-config
    assert_eq "$RC" 0 "--check-config on etc/underlayd.conf.example; output: $OUT"
fi

BAD="$UL_TMP/bad.conf"
printf '[server]\n# comment\nlisten = 127.0.0.1:%s\nlisten_backlog = 5\n' "$PORT" >"$BAD"
run_daemon -c "$BAD" --check-config
assert_eq "$RC" 1 "--check-config with an unknown key"
assert_contains "$OUT" "listen_backlog" "message for an unknown key"
assert_contains "$OUT" "line 4" "message for an unknown key"
run_daemon -c "$BAD" -d "$SCRATCH/bad-data" -l "127.0.0.1:$PORT"
assert_eq "$RC" 1 "start with an unknown config key"
assert_contains "$OUT" "listen_backlog" "message for an unknown key"
assert_contains "$OUT" "line 4" "message for an unknown key"
assert_contains "$OUT" "$BAD" "message for an unknown key names the file"
[ ! -e "$SCRATCH/bad-data" ] || ul_fail "a bad config still created the data directory"

printf '[server]\n\n[nosuchsection]\nkey = 1\n' >"$BAD"
run_daemon -c "$BAD" -d "$SCRATCH/bad-data" -l "127.0.0.1:$PORT"
assert_eq "$RC" 1 "start with an unknown section"
assert_contains "$OUT" "nosuchsection" "message for an unknown section"
assert_contains "$OUT" "line 3" "(the section header)"

printf '[jobs]\nworkers = 0\n' >"$BAD"
run_daemon -c "$BAD" -d "$SCRATCH/bad-data" -l "127.0.0.1:$PORT"
assert_eq "$RC" 1 "start with a value out of range"
assert_contains "$OUT" "workers" "message for a value out of range"
assert_contains "$OUT" "line 2"

printf '[server]\nlisten\n' >"$BAD"
run_daemon -c "$BAD" --check-config
assert_eq "$RC" 1 "a line without '='"
assert_contains "$OUT" "line 2"

# Each module's own checks run in --check-config too (before they ran only
# at start, after the store was opened).
printf '[rrd]\narchives = 60s:1d:AVERAGE,bogus\n' >"$BAD"
run_daemon -c "$BAD" --check-config
assert_eq "$RC" 1 "--check-config with a bad rrd.archives"
assert_contains "$OUT" "[rrd]" "the section named"
assert_contains "$OUT" "rrd.archives"
printf '[rrd]\nrrdcached = localhost\n' >"$BAD"
run_daemon -c "$BAD" --check-config
assert_eq "$RC" 1 "--check-config with an rrdcached address without a port"
assert_contains "$OUT" "rrd.rrdcached"
printf '[jobs]\nworkers = 4\npoll_workers = 4\n' >"$BAD"
run_daemon -c "$BAD" --check-config
assert_eq "$RC" 1 "--check-config: polls may not take every worker"
assert_contains "$OUT" "jobs.poll_workers"
printf '[jobs]\ninstance = two words\n' >"$BAD"
run_daemon -c "$BAD" -d "$SCRATCH/bad-data" -l "127.0.0.1:$PORT"
assert_eq "$RC" 1 "start with a bad jobs.instance"
assert_contains "$OUT" "jobs.instance"
[ ! -e "$SCRATCH/bad-data/underlay.db" ] || ul_fail "a bad [jobs] section opened the store"

run_daemon -c "$UL_TMP/no-such.conf" -d "$SCRATCH/bad-data" -l "127.0.0.1:$PORT"
assert_eq "$RC" 1 "a missing config file"
assert_contains "$OUT" "no-such.conf"

run_daemon -d "$SCRATCH/bad-data" -l "127.0.0.1:$PORT" -s jobs.nosuch=1
assert_eq "$RC" 1 "--set with an unknown key"
assert_contains "$OUT" "jobs.nosuch"
run_daemon -d "$SCRATCH/bad-data" -l "not-an-address:$PORT"
assert_eq "$RC" 1 "a bad --listen"
assert_contains "$OUT" "not-an-address"
[ ! -e "$SCRATCH/bad-data" ] || ul_fail "a bad command line still created the data directory"

# ---- unusable data directories (these fail for root too) ----------------------------
: >"$SCRATCH/file"
run_daemon -d "$SCRATCH/file/sub" -l "127.0.0.1:$PORT"
assert_eq "$RC" 1 "data dir under a regular file"
assert_contains "$OUT" "$SCRATCH/file/sub" "message names the data dir"
run_daemon -d "$SCRATCH/file" -l "127.0.0.1:$PORT"
assert_eq "$RC" 1 "data dir is a regular file"
assert_contains "$OUT" "$SCRATCH/file" "message names the data dir"
assert_contains "$OUT" "not a directory"
[ -s "$SCRATCH/file" ] && ul_fail "the daemon wrote into a regular file given as data dir"

# ---- a running daemon ------------------------------------------------------------------
ul_start
TOKEN0=$UL_TOKEN
ul_api POST /api/v1/nodes '{"name":"d1","endpoint":"fake://d1"}'
assert_status 201 "create d1"

# A second daemon on the same data dir refuses, and leaves it alone.
OTHER=$(ul_free_port)
run_daemon -d "$UL_DIR" -l "127.0.0.1:$OTHER"
assert_eq "$RC" 1 "second daemon on the same data dir"
assert_contains "$OUT" "in use" "second daemon on the same data dir"
assert_contains "$OUT" "$UL_DIR" "second daemon on the same data dir"
assert_eq "$(head -n 1 "$UL_DIR/admin.token")" "$TOKEN0" "admin.token after the refused start"
curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$OTHER/healthz" &&
    ul_fail "the refused daemon answers on $OTHER"

# A daemon on an address in use refuses, naming the address.
run_daemon -d "$SCRATCH/data2" -l "127.0.0.1:$UL_PORT"
assert_eq "$RC" 1 "daemon on a port in use"
assert_contains "$OUT" "127.0.0.1" "message names the address"
assert_contains "$OUT" "$UL_PORT" "message names the port"

# The first daemon did not notice any of it.
ul_api GET /api/v1/nodes/d1
assert_status 200 "first daemon after the refused starts"

# SIGHUP does not stop it.
kill -HUP "$UL_PID"
sleep 0.3
ul_api GET /healthz
assert_status 200 "after SIGHUP"
assert_json .status ok
assert_json .version "$VERSION"

# SIGINT stops it cleanly: exit status 0 (ul_stop checks).
ul_stop INT
assert_contains "$(tail -n 3 "$UL_DIR/daemon.log")" "stopped" "daemon log after SIGINT"
curl -s -o /dev/null --max-time 1 "$UL_URL/healthz" && ul_fail "still answering after SIGINT"

# And it starts again on the same dir and port afterwards (the lock is gone).
ul_restart
ul_api GET /api/v1/nodes/d1
assert_status 200 "d1 after restart"
ul_stop TERM
exit 0
