# Helpers of the command-line tests, sourced by run.sh before any test and used by every script it
# sources (segment.sh, download.sh, modes.sh, classify.sh, api.sh). They use run.sh's $yolo and
# update its counters, passed and failed.

# pass NAME, fail NAME: counts one test and reports it ("ok   NAME" or "FAIL NAME").
pass() {
  passed=$((passed + 1))
  echo "ok   $1"
}
fail() {
  failed=$((failed + 1))
  echo "FAIL $1"
}

# check NAME COMMAND...: passes when COMMAND succeeds.
check() {
  local name=$1
  shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}

# run_lines NAME EXIT_CODE PATTERN... -- COMMAND...: runs COMMAND; passes when it exits with
# EXIT_CODE and every PATTERN (an extended regular expression) matches a line of its output
# (stdout and stderr together). A failure shows the patterns no line matched and the output's end.
run_lines() {
  local name=$1 want_rc=$2 patterns=() missing="" out rc p
  shift 2
  while [ "$1" != "--" ]; do
    patterns+=("$1")
    shift
  done
  shift
  out=$("$@" 2>&1)
  rc=$?
  for p in "${patterns[@]}"; do printf '%s' "$out" | grep -Eq -- "$p" || missing="$missing [$p]"; done
  if [ "$rc" -eq "$want_rc" ] && [ -z "$missing" ]; then
    pass "$name"
  else
    fail "$name: exit $rc (want $want_rc)${missing:+, no line matches:$missing}; output:"
    printf '%s\n' "$out" | tail -n 20 | sed 's/^/    /'
  fi
}

# expect_all NAME EXIT_CODE PATTERN... -- ARGS...: run_lines on `yolo ARGS`.
expect_all() {
  local words=()
  while [ "$1" != "--" ]; do
    words+=("$1")
    shift
  done
  shift
  run_lines "${words[@]}" -- "$yolo" "$@"
}

# expect NAME EXIT_CODE PATTERN -- ARGS...: runs yolo ARGS, checks the exit code and that a line of
# the output matches PATTERN.
expect() { expect_all "$@"; }

# image_size FILE: "WxH" of a JPEG or PNG as file(1) reads its header ("" for anything else).
image_size() {
  file -b "$1" | sed -nE 's/^JPEG image data.*, ([0-9]+)x([0-9]+), components.*/\1x\2/p; s/^PNG image data, ([0-9]+) x ([0-9]+),.*/\1x\2/p'
}

# digest FOLDER: one hash of every file's path and contents, to show a refusal changed nothing.
digest() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum; }
