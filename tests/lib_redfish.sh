# lib_redfish.sh - what the Redfish integration tests share: the project's
# emulator (tests/redfish), started on free ports under $UL_TMP/emu and
# stopped by recorded PID at exit.  Source after tests/lib.sh.  A test with
# more to stop at exit defines rf_extra_cleanup.

# Through bash: the script need not keep its execute bit in a tarball.
emuctl() { bash "$TOP_SRCDIR/tests/redfish/emuctl.sh" "$@"; }
[ -f "$TOP_SRCDIR/tests/redfish/emulator.py" ] || ul_skip "the Redfish emulator is missing"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 7))' ||
    ul_skip "the Redfish emulator needs python3 >= 3.7"

EMUDIR="$UL_TMP/emu"
rf_cleanup() {
    local d
    for d in "$EMUDIR"/*/; do
        [ -d "$d" ] && emuctl stop "$d" >/dev/null 2>&1
    done
    if declare -F rf_extra_cleanup >/dev/null; then
        rf_extra_cleanup
    fi
}
trap 'rc=$?; rf_cleanup; (exit $rc); ul__cleanup' EXIT

# emu_start NAME [emulator options]: one emulator instance in $EMUDIR/NAME
# on a free port; prints its URL.  Retried: another test may take the port
# between emuctl's choice and the bind.
emu_start() {
    local name=$1
    shift
    for _ in 1 2 3; do
        if emuctl start 1 auto "$EMUDIR/$name" "$@" >"$UL_TMP/emuctl-$name.out" 2>&1; then
            emuctl url "$EMUDIR/$name" 0
            return 0
        fi
        emuctl stop "$EMUDIR/$name" >/dev/null 2>&1
    done
    cat "$UL_TMP/emuctl-$name.out" >&2
    return 1
}

# run_job NODE OP JSON [TIMEOUT_S]: POST the operation, wait for its job;
# sets UL_JOB and UL_BODY (the finished job).
run_job() {
    ul_api POST "/api/v1/nodes/$1/$2" "$3"
    assert_status 202 "$2 on $1"
    UL_JOB=$(ul_jq .job.id)
    wait_job "$UL_JOB" "${4:-30}"
}

# assert_job_error CODE NEEDLE...: the last job failed with CODE and its
# message names each NEEDLE.
assert_job_error() {
    local code=$1 msg needle
    shift
    assert_json .state failed "job $UL_JOB"
    assert_json .error.code "$code" "job $UL_JOB error code"
    msg=$(ul_jq .error.message)
    for needle in "$@"; do
        assert_contains "$msg" "$needle" "job $UL_JOB error message"
    done
}
