#!/usr/bin/env bash
# Command-line tests: runs the yolo binary given as $1 and checks exit codes and output.
# Ends with "N passed, N failed".
set -u
yolo=$1
passed=0
failed=0

# expect NAME EXIT_CODE PATTERN -- ARGS...: runs yolo ARGS, checks the exit code and that the
# combined output matches the extended regular expression PATTERN.
expect() {
  local name=$1 want_rc=$2 pattern=$3
  shift 4
  local out rc
  out=$("$yolo" "$@" 2>&1)
  rc=$?
  if [ "$rc" -eq "$want_rc" ] && printf '%s' "$out" | grep -Eq -- "$pattern"; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name: exit $rc (want $want_rc), output:"
    printf '%s\n' "$out" | head -n 20 | sed 's/^/    /'
  fi
}

expect "version prints the version" 0 '^[0-9]+\.[0-9]+\.[0-9]+' -- version
expect "help shows the grammar" 0 'yolo TASK MODE key=value' -- help
expect "no arguments prints help" 0 'usage: yolo' --
expect "unknown word fails with a hint" 2 "see 'yolo help'" -- frobnicate

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
