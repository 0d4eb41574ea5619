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
expect "detect info counts yolov8n exactly" 0 'yolov8n.yaml summary \(nc=80\): 23 rows, [0-9]+ ops, 3,157,200 parameters, 3,157,184 gradients, 8\.7 GFLOPs' -- detect info model=yolov8n.yaml
expect "segment info defaults to yolov8n-seg" 0 '3,409,968 parameters' -- segment info
expect "classify info at 224" 0 '2,719,288 parameters.*imgsz=224' -- classify info
# nc=3 shrinks each level's class branch (c3 = max(64, min(nc, 100)) = 64 instead of 80): by hand,
# 515,760 - 369,993 = 145,767 fewer parameters than yolov8n's 3,157,200.
expect "info nc= overrides the classes" 0 'nc=3\).*3,011,433 parameters' -- detect info nc=3
expect "info rejects a model of another task" 1 'is a classify model; run .yolo classify info' -- detect info model=yolov8n-cls.yaml
expect "info rejects an unknown key" 1 "'epochs' is not an argument of info" -- detect info epochs=3
expect "info rejects a bad imgsz" 1 'imgsz=33 must be a multiple of 32' -- detect info imgsz=33
expect "info names a missing model" 1 'model nope.yaml not found' -- detect info model=nope.yaml

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
