# The C API as a user gets it (include/yolo/yolo.h): the example program built by meson runs end
# to end, and `meson install` stages a library, headers and yolo.pc that an outside program
# compiles and links against with pkg-config alone, shared and static. Sourced by run.sh (its
# $yolo, check and counters), in a folder of its own under run.sh's scratch folder.
build=$(dirname "$yolo")
api_home=$PWD
mkdir -p api && cd api || exit 1

# What the example prints: training, validation of best.ckpt, the boxes of the 4 images.
example_lines=("^libyolo [0-9]+\.[0-9]+\.[0-9]+$" "^trained: runs/detect/example[0-9]*/weights/best.ckpt$"
  "^metrics/mAP50-95\(B\) = [0-9]+\.[0-9]{5}$" "^fitness = [0-9.]+ \(in runs/detect/val[0-9]*\)$"
  "/00001\.png \(328x206\): 3 objects$" "^  (circle|triangle|square|hexagon|star) +0\.[0-9]{3}  x1 [0-9.]+  y1 [0-9.]+  x2 [0-9.]+  y2 [0-9.]+$"
  "^4 images predicted$")
run_lines "the example trains, validates and predicts through the API" 0 "${example_lines[@]}" -- \
  "$build/examples/train_and_predict"

# meson install into a staging folder; the example compiled against it by pkg-config alone.
stage=$PWD/stage
meson install -C "$build" --destdir "$stage" --no-rebuild >install.log 2>&1
pc=$(find "$stage" -name yolo.pc | head -n 1)
check "meson install stages libyolo.so, libyolo.a and yolo.pc" test -n "$pc" -a -e "$(dirname "$pc")/../libyolo.so" -a -e "$(dirname "$pc")/../libyolo.a"
check "the installed headers are the public ones only" test "$(cd "$stage"/usr/local/include/yolo 2>/dev/null && ls | tr '\n' ' ')" = "version.h yolo.h "
# The staged copy as its own root: PKG_CONFIG_SYSROOT_DIR puts the stage before every path.
yolo_pc() { PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$stage pkg-config "$@" yolo; }
libdir=$(yolo_pc --variable=libdir)
check "yolo.pc lists the static dependencies" test "$(yolo_pc --print-requires-private | cut -d' ' -f1 | tr '\n' ' ')" = \
  "yaml-0.1 libcjson libpng libturbojpeg openblas cairo fontconfig libxxhash libcurl libzip "
check "yolo.pc's version is the library's" test "$(yolo_pc --modversion)" = "$("$yolo" version)"
# libyolo.so exports the functions yolo.h declares, and nothing else.
declared=$(grep '^YOLO_API' "$stage/usr/local/include/yolo/yolo.h" | grep -oE '\byolo_[a-z_]+\(' | tr -d '(' | sort | tr '\n' ' ')
exported=$(nm -D --defined-only "$libdir/libyolo.so" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort | tr '\n' ' ')
check "libyolo.so exports exactly the functions of yolo.h ($(echo "$declared" | wc -w))" test -n "$declared" -a "$declared" = "$exported"
cc=${CC:-cc}
check "the example compiles against the installed copy with pkg-config --cflags --libs yolo" \
  "$cc" -std=c17 -Wall -Wextra -Werror "$here/../../examples/train_and_predict.c" $(yolo_pc --cflags --libs) -o example-shared
# A static link: libyolo.a with yolo.pc's Requires.private (their own libraries, not their
# private ones: the system has shared copies of those) and Libs.private.
check "the example links libyolo.a statically with yolo.pc's private dependencies" \
  "$cc" -std=c17 "$here/../../examples/train_and_predict.c" $(yolo_pc --cflags) "$libdir/libyolo.a" \
  $(pkg-config --libs $(yolo_pc --print-requires-private | cut -d' ' -f1)) $(sed -n 's/^Libs.private: //p' "$pc") -o example-static
check "the static example does not load libyolo.so" test -x example-static -a -z "$(ldd example-static 2>/dev/null | grep libyolo)"
LD_LIBRARY_PATH=$libdir run_lines "the example built against the installed library runs" 0 "${example_lines[@]}" -- ./example-shared

cd "$api_home" || exit 1
