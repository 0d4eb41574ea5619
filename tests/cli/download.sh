# Datasets from the network, against a local HTTP server (tests/cli/http_server.py on 127.0.0.1;
# nothing here reaches the internet). Sourced by tests/cli/run.sh: it uses run.sh's $yolo, $here,
# expect and check, and runs in run.sh's scratch folder, where datasets/shapes8 already exists.
# The zips are built here from shapes8's files.

if ! command -v python3 >/dev/null; then
  echo "skip download tests: no python3 to serve the zips"
  return 0
fi

dl_home=$PWD
mkdir -p dl/www
cd dl || exit 1

# What the datasets directory holds, one line.
listing() { ls -A datasets 2>/dev/null | tr '\n' ' '; }

python3 - <<'EOF'
import os, zipfile

src = "../datasets/shapes8"

def pack(name, top, extra=()):
    with zipfile.ZipFile("www/" + name, "w", zipfile.ZIP_DEFLATED) as z:
        for sub in ("images", "labels"):
            for folder, _, files in sorted(os.walk(os.path.join(src, sub))):
                for f in sorted(files):
                    if not f.endswith(".cache"):
                        path = os.path.join(folder, f)
                        z.write(path, top + "/" + os.path.relpath(path, src))
        for entry, data in extra:
            z.writestr(entry, data)

pack("tiny8.zip", "tiny8")
pack("flaky8.zip", "flaky8")
pack("slow8.zip", "slow8")
pack("moved8.zip", "moved8")
pack("evil8.zip", "evil8", [("../evil.txt", "outside the datasets directory")])
whole = open("www/tiny8.zip", "rb").read()
open("www/cut8.zip", "wb").write(whole[: len(whole) // 2])
open("www/junk8.zip", "wb").write(bytes((i * 37 + 11) % 256 for i in range(4096)))
EOF

python3 "$here/http_server.py" www port >server.log 2>&1 &
server=$!
for _ in $(seq 200); do
  [ -s port ] && break
  sleep 0.05
done
port=$(cat port 2>/dev/null)
url=http://127.0.0.1:$port
# A proxy in the environment must not see these requests.
saved_no_proxy=${no_proxy-unset}
export no_proxy=127.0.0.1

dataset_yaml() { # NAME DOWNLOAD
  printf 'path: %s\ntrain: images/train\nval: images/val\nnames: [circle, triangle, square, hexagon, star]\ndownload: %s\n' \
    "$1" "$2" >"$1.yaml"
}
dataset_yaml tiny8 "$url/tiny8.zip"
expect_all "download: fetches the zip over HTTP, unpacks it and trains" 0 \
  "^Downloading $url/tiny8.zip to 'datasets/tiny8.zip'" "^Unzipped 16 files .* to datasets/tiny8$" \
  "^Dataset download success" "^train: 4 images" "1 epochs completed" -- \
  detect train data=tiny8.yaml epochs=1 imgsz=64 batch=4 workers=0
check "the download lands as datasets/tiny8 with shapes8's files, and nothing else" \
  test "$(listing)" = "tiny8 " -a -z "$(diff -r -x '*.cache' ../datasets/shapes8/images datasets/tiny8/images)" \
  -a -z "$(diff -r -x '*.cache' ../datasets/shapes8/labels datasets/tiny8/labels)"

dataset_yaml gone8 "$url/gone8.zip"
expect "an HTTP 404 names the URL and the status" 1 \
  "gone8.yaml:5: downloading $url/gone8.zip failed: the server answered HTTP 404 Not Found" -- \
  detect train data=gone8.yaml epochs=1 imgsz=64
dataset_yaml junk8 "$url/junk8.zip"
expect "a download that is not a zip is refused" 1 "junk8.zip is not a valid zip archive" -- detect train data=junk8.yaml
dataset_yaml cut8 "$url/cut8.zip"
expect "a zip cut in half is refused" 1 "cut8.zip is not a valid zip archive" -- detect train data=cut8.yaml
dataset_yaml evil8 "$url/evil8.zip"
expect "a zip entry with .. is refused" 1 'the zip entry "\.\./evil\.txt" climbs out of its folder' -- detect train data=evil8.yaml
check "failed downloads leave nothing: no temporary files, no evil.txt" \
  test "$(listing)" = "tiny8 " -a ! -e evil.txt -a ! -e ../evil.txt
printf 'path: py8\ntrain: images/train\nval: images/val\nnames: [a]\ndownload: |\n  from ultralytics.utils.downloads import download\n  download(["x"])\n' >py8.yaml
expect "download: as Python code is refused by name" 1 "is Python code, which Ultralytics runs" -- detect train data=py8.yaml

# The first request of /flaky/ drops the connection halfway; the retry gets the whole zip. The
# missing model ends the run right after the dataset is loaded.
dataset_yaml flaky8 "$url/flaky/flaky8.zip"
expect_all "a dropped connection is retried" 1 "retrying 1/3 in 1s" "^Unzipped 16 files .* to datasets/flaky8$" \
  "^train: 4 images" "model nope.yaml not found" -- detect train data=flaky8.yaml model=nope.yaml

dataset_yaml moved8 "$url/moved/moved8.zip"
expect_all "a redirect is followed" 1 "^Unzipped 16 files .* to datasets/moved8$" "model nope.yaml not found" -- \
  detect train data=moved8.yaml model=nope.yaml

# SIGINT while /slow/ trickles the zip in: the download stops and leaves nothing behind.
dataset_yaml slow8 "$url/slow/slow8.zip"
"$yolo" detect train data=slow8.yaml model=nope.yaml >dl.out 2>&1 &
pid=$!
for _ in $(seq 200); do
  compgen -G "datasets/slow8.zip.download-*" >/dev/null && break
  sleep 0.05
done
sleep 0.2
kill -INT $pid
wait $pid
rc=$?
check "SIGINT during a download stops it with a message and exit 130" test $rc -eq 130 -a "$(grep -c 'interrupted by SIGINT; nothing was left in datasets' dl.out)" -eq 1
check "an interrupted download leaves nothing in the datasets directory" test "$(listing)" = "flaky8 moved8 tiny8 "

kill $server 2>/dev/null
wait $server 2>/dev/null
if [ "$saved_no_proxy" = unset ]; then unset no_proxy; else no_proxy=$saved_no_proxy; fi
cd "$dl_home" || exit 1
