#!/usr/bin/env bash
# Quick start command 2: install dependencies, build, and run the whole test
# suite the way CI does:
#   1. a -Werror build with AddressSanitizer + UndefinedBehaviorSanitizer,
#      running every unit and integration test (the daemon too runs under
#      ASan there, so a leak at shutdown fails its test);
#   2. make distcheck: the release tarball builds and passes the tests.
# Ends with one line: "N passed, N failed, N skipped".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

"$top/scripts/deps.sh" || exit 1

jobs=$(nproc 2>/dev/null || echo 2)
status=0
passed=0 failed=0 skipped=0

count() { # sum the automake harness counts from a test-suite.log
  local log=$1 p f s e x
  [ -f "$log" ] || return 0
  p=$(sed -n 's/^# PASS: *//p' "$log" | head -1)
  f=$(sed -n 's/^# FAIL: *//p' "$log" | head -1)
  e=$(sed -n 's/^# ERROR: *//p' "$log" | head -1)
  x=$(sed -n 's/^# XPASS: *//p' "$log" | head -1)
  s=$(sed -n 's/^# SKIP: *//p' "$log" | head -1)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${x:-0}))
  skipped=$((skipped + ${s:-0}))
}

if [ ! -x configure ] || [ configure.ac -nt configure ]; then
  autoreconf -fi || exit 1
fi
if [ -f config.status ]; then
  echo "check: the source tree is configured in place; run 'make distclean' first" >&2
  exit 1
fi

# 1. sanitizer build, all tests
rm -rf build/check
mkdir -p build/check
(
  cd build/check &&
  ../../configure --enable-werror --enable-sanitizers -q &&
  make -j"$jobs" -s &&
  make -j"$jobs" -s check
) || status=1
count build/check/test-suite.log
if [ $status -ne 0 ]; then
  # show what failed
  for log in $(find build/check -name '*.log' -path '*tests*' 2>/dev/null); do
    trs=${log%.log}.trs
    if [ -f "$trs" ] && grep -qE '^:test-result: (FAIL|ERROR)' "$trs"; then
      echo "==== $log"; tail -n 60 "$log"
    fi
  done
fi

# 2. distcheck (its own build of the tarball, without sanitizers)
if [ $status -eq 0 ]; then
  (cd build/check && make -s distcheck) > build/distcheck.log 2>&1
  if [ $? -eq 0 ]; then
    echo "check: make distcheck passed"
    passed=$((passed + 1))
  else
    echo "check: make distcheck FAILED; last lines of build/distcheck.log:"
    tail -n 80 build/distcheck.log
    failed=$((failed + 1))
    status=1
  fi
fi

[ $failed -gt 0 ] && status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
