// The argument set and the command-line grammar (src/cli/args*.c) against the rules of
// ultralytics-behaviour.md §1, with the exact messages users see; args.yaml round trips; and a
// seeded fuzz of the parser.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "core/rng.h"
#include "file_util.h"
#include "scratch.h"
#include "test.h"

enum { MAX_WORDS = 64 };

// Parses line split at spaces, as the shell hands words to main.
static int parse_line(Args *a, ArgsCommand *cmd, const char *line) {
    static char buf[8192];
    snprintf(buf, sizeof buf, "%s", line);
    char *words[MAX_WORDS], *save = NULL;
    int n = 0;
    for (char *w = strtok_r(buf, " ", &save); w && n < MAX_WORDS; w = strtok_r(NULL, " ", &save)) words[n++] = w;
    return args_parse(a, n, words, cmd);
}

// The whole message, not a fragment: these are the texts users read.
#define EXPECT_MESSAGE(expr, text)                                                                                     \
    do {                                                                                                               \
        yolo_error_clear();                                                                                            \
        if ((expr) == 0) test_fail(__FILE__, __LINE__, "%s succeeded but should fail", #expr);                         \
        else if (strcmp(yolo_error(), (text)) != 0)                                                                    \
            test_fail(__FILE__, __LINE__, "%s:\n      got  \"%s\"\n      want \"%s\"", #expr, yolo_error(), (text)); \
        yolo_error_clear();                                                                                            \
    } while (0)

#define EXPECT_STR(got, want)                                                                                          \
    do {                                                                                                               \
        const char *g_ = (got), *w_ = (want);                                                                          \
        if (strcmp(g_, w_) != 0) test_fail(__FILE__, __LINE__, "%s is \"%s\", want \"%s\"", #got, g_, w_);            \
    } while (0)

static Args args, other;
static ArgsCommand cmd;

static const char *shown(const Args *a, const char *key) {
    static char out[2048];
    if (args_format(a, key, out, sizeof out) != 0) snprintf(out, sizeof out, "<%s>", yolo_error());
    return out;
}

// ---- The argument set ------------------------------------------------------------------------

TEST(args_table_matches_default_yaml) {
    // Every key of default.yaml, in its order, then info's nc: args.yaml is written in this order.
    const char *text = args_default_yaml();
    int k = 0;
    for (const char *line = text; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : line + strlen(line)) {
        size_t n = strspn(line, "abcdefghijklmnopqrstuvwxyz_0123456789");
        if (n == 0 || line[n] != ':') continue;
        const char *name = args_key_name(k++);
        if (!name || strncmp(name, line, n) != 0 || name[n] != '\0')
            test_fail(__FILE__, __LINE__, "default.yaml key %.*s is table key %s", (int)n, line, name ? name : "(none)");
    }
    EXPECT(k == 75);
    EXPECT(k == args_key_count() - 1);
    EXPECT_STR(args_key_name(args_key_count() - 1), "nc");
    EXPECT(args_key_name(args_key_count()) == NULL);
}

TEST(args_defaults_have_default_yaml_values) {
    EXPECT_OK(args_defaults(&args));
    EXPECT_STR(args.task, "detect");
    EXPECT_STR(args.mode, "train");
    EXPECT_STR(args.model, "");
    EXPECT(args.epochs == 100 && args.patience == 100 && args.batch == 16 && args.imgsz == 640);
    EXPECT(args.save && !args.exist_ok && args.deterministic && args.amp && args.val && args.plots);
    EXPECT(args.save_period == -1 && args.workers == 8 && args.nbs == 64 && args.max_det == 300);
    EXPECT(args.cache.kind == ARGS_BOOL && !args.cache.b);
    EXPECT(args.pretrained.kind == ARGS_BOOL && args.pretrained.b);
    EXPECT(args.device.kind == ARGS_NONE && args.time.kind == ARGS_NONE && args.conf.kind == ARGS_NONE);
    EXPECT(args.freeze.kind == ARGS_NONE && args.classes.kind == ARGS_NONE && args.nc.kind == ARGS_NONE);
    EXPECT_STR(args.optimizer, "auto");
    EXPECT_STR(args.split, "val");
    EXPECT(args.lr0 == 0.01 && args.momentum == 0.937 && args.weight_decay == 0.0005 && args.warmup_epochs == 3.0);
    EXPECT(args.fraction == 1.0 && args.iou == 0.7 && args.erasing == 0.4 && args.box == 7.5);
    for (int k = 0; k < args_key_count(); k++) EXPECT(!args_given(&args, args_key_name(k)));
}

// ---- Words -------------------------------------------------------------------------------

TEST(args_key_values_are_typed_like_smart_value) {
    EXPECT_OK(parse_line(&args, &cmd, "segment train epochs=3 lr0=0.02 batch=8 device=0 cache=ram name=2 time=2 conf=0.5"));
    EXPECT_STR(args.task, "segment");
    EXPECT(args.epochs == 3 && args.lr0 == 0.02 && args.batch == 8);
    EXPECT(args.device.kind == ARGS_INT && args.device.i == 0);
    EXPECT(args.cache.kind == ARGS_STR && !strcmp(args.cache.s, "ram"));
    EXPECT_STR(args.name, "2"); // numbers become text for string keys
    EXPECT(args.time.kind == ARGS_FLOAT && args.time.f == 2.0);
    EXPECT(args.conf.kind == ARGS_FLOAT && args.conf.f == 0.5);
    EXPECT(args_given(&args, "epochs") && args_given(&args, "task") && !args_given(&args, "imgsz"));
    EXPECT(!args_given(&args, "model")); // filled in, not given

    // Lists: [a,b], (a,b) and a,b (a tuple, as literal_eval reads it).
    EXPECT_OK(parse_line(&args, &cmd, "train device=0,1 freeze=[0,1,2] classes=(3,)"));
    EXPECT(args.device.kind == ARGS_LIST && args.device.n == 2 && args.device.list[1] == 1);
    EXPECT(args.freeze.kind == ARGS_LIST && args.freeze.n == 3 && args.freeze.list[2] == 2);
    EXPECT(args.classes.kind == ARGS_LIST && args.classes.n == 1 && args.classes.list[0] == 3);
    EXPECT_OK(parse_line(&args, &cmd, "train device=cpu freeze=10 classes=[] pretrained=runs/a/last.ckpt name='myrun'"));
    EXPECT(args.device.kind == ARGS_STR && !strcmp(args.device.s, "cpu"));
    EXPECT(args.freeze.kind == ARGS_INT && args.freeze.i == 10);
    EXPECT(args.classes.kind == ARGS_LIST && args.classes.n == 0);
    EXPECT(args.pretrained.kind == ARGS_STR && !strcmp(args.pretrained.s, "runs/a/last.ckpt"));
    EXPECT_STR(args.name, "myrun"); // a quoted Python string

    // none/true/false in any case; "(5)" is 5; leading zeros are no int (Python 3).
    EXPECT_OK(parse_line(&args, &cmd, "train save=FALSE plots=tRuE conf=NONE model=NoNe freeze=(5)"));
    EXPECT(!args.save && args.plots && args.conf.kind == ARGS_NONE && args.freeze.i == 5);
    EXPECT_STR(args.model, "yolov8n.yaml");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "train epochs=007"),
                   "'epochs=007' is of invalid type str. 'epochs' must be an int (i.e. 'epochs=100')");
}

TEST(args_loose_equals_and_brackets_are_merged) {
    const char *lines[] = {"train epochs = 3", "train epochs= 3", "train epochs =3"};
    for (int i = 0; i < 3; i++) {
        EXPECT_OK(parse_line(&args, &cmd, lines[i]));
        EXPECT(args.epochs == 3);
    }
    EXPECT_OK(parse_line(&args, &cmd, "train classes=[0, 2, 4] epochs=5"));
    EXPECT(args.classes.kind == ARGS_LIST && args.classes.n == 3 && args.classes.list[2] == 4 && args.epochs == 5);
    // "k= v" only takes a following word without '=': here "epochs=" stays alone and fails.
    EXPECT_MESSAGE(parse_line(&args, &cmd, "train epochs= lr0=0.1"),
                   "missing 'epochs' value: 'epochs=' is not a valid YOLO argument. Similar arguments are i.e. ['epochs=100', "
                   "'warmup_epochs=3.0'].");
}

TEST(args_dashes_and_trailing_commas_are_fixed_with_a_warning) {
    EXPECT_OK(parse_line(&args, &cmd, "detect train --epochs=3 imgsz=320, data=shapes8.yaml"));
    EXPECT(args.epochs == 3 && args.imgsz == 320);
    EXPECT_STR(cmd.warnings, "WARNING: argument '--epochs=3' does not require leading dashes '--', updating to 'epochs=3'.\n"
                             "WARNING: argument 'imgsz=320,' does not require trailing comma ',', updating to 'imgsz=320'.\n");
    EXPECT_OK(parse_line(&args, &cmd, "train classes=0,1,"));
    EXPECT(args.classes.kind == ARGS_LIST && args.classes.n == 2);
}

TEST(args_task_and_mode_words) {
    EXPECT_OK(parse_line(&args, &cmd, "classify val"));
    EXPECT_STR(args.task, "classify");
    EXPECT_STR(args.mode, "val");
    EXPECT_STR(cmd.warnings, "WARNING: 'data' argument is missing. Using default 'data=shapes-cls'.\n");
    EXPECT_OK(parse_line(&args, &cmd, "predict task=segment mode=val"));
    EXPECT_STR(args.task, "segment");
    EXPECT_STR(args.mode, "val"); // later words win
    EXPECT_MESSAGE(parse_line(&args, &cmd, "pose train"),
                   "'pose' is an Ultralytics task that this program does not have. Valid tasks are detect, segment, classify.");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "detect export"),
                   "'export' is an Ultralytics mode that this program does not have. Valid modes are train, val, predict, info.");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "task=pose train"), "Invalid 'task=pose'. Valid 'task' values are detect, segment, classify.");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "detect mode=export"), "Invalid 'mode=export'. Valid 'mode' values are train, val, predict, info.");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "detect=1"), "'detect' takes no value: write it alone, i.e. 'yolo detect'");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "Train"),
                   "'Train' is not a valid YOLO argument. Similar arguments are i.e. ['train', 'erasing=0.4', 'fraction=1.0'].");
}

TEST(args_special_words_and_aliases) {
    struct {
        const char *line;
        ArgsAction action;
    } cases[] = {
        {"help", ARGS_HELP},       {"-h", ARGS_HELP},           {"--help", ARGS_HELP},       {"HELP", ARGS_HELP},
        {"h", ARGS_HELP},          {"version", ARGS_VERSION},   {"-v", ARGS_VERSION},        {"--version", ARGS_VERSION},
        {"cfg", ARGS_CFG},         {"--cfg", ARGS_CFG},         {"copy-cfg", ARGS_COPY_CFG}, {"checks", ARGS_CHECKS},
        {"check", ARGS_CHECKS},    {"-check", ARGS_CHECKS},     {"--checks", ARGS_CHECKS},
        {"c", ARGS_COPY_CFG}, // checks, cfg and copy-cfg share 'c': the last one wins, as in Ultralytics
        {"detect train help", ARGS_HELP},
        {"epoch=3 help", ARGS_HELP}, // the key check comes after all words, which help ends
        {"detect train data=shapes8.yaml", ARGS_RUN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        EXPECT_OK(parse_line(&args, &cmd, cases[i].line));
        if (cmd.action != cases[i].action) test_fail(__FILE__, __LINE__, "'%s' gives action %d", cases[i].line, (int)cmd.action);
    }
    EXPECT_OK(parse_line(&args, &cmd, "--help"));
    EXPECT_STR(cmd.warnings, ""); // an alias, not a word with stray dashes
    EXPECT_OK(args_parse(&args, 0, NULL, &cmd));
    EXPECT(cmd.action == ARGS_HELP);
}

TEST(args_bare_keys) {
    // A key whose default is a bool is set True alone; val is the mode word first.
    EXPECT_OK(parse_line(&args, &cmd, "detect train plots=False exist_ok cache rect"));
    EXPECT(!args.plots && args.exist_ok && args.rect && args.cache.kind == ARGS_BOOL && args.cache.b);
    EXPECT_OK(parse_line(&args, &cmd, "detect train resume"));
    EXPECT(args.resume.kind == ARGS_BOOL && args.resume.b);
    EXPECT_STR(args.model, ""); // the checkpoint names the model
    EXPECT_STR(args.data, "");
    EXPECT_OK(parse_line(&args, &cmd, "detect train val"));
    EXPECT_STR(args.mode, "val");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "detect train epochs 10"),
                   "'epochs' is a valid YOLO argument but is missing an '=' sign to set its value, i.e. try 'epochs=100'");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "detect train model"),
                   "'model' is a valid YOLO argument but is missing an '=' sign to set its value, i.e. try 'model=yolov8n.yaml'");
}

TEST(args_unknown_keys_suggest_close_ones) {
    EXPECT_MESSAGE(parse_line(&args, &cmd, "detect train epoch=3"),
                   "'epoch' is not a valid YOLO argument. Similar arguments are i.e. ['epochs=100'].");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "detect train frobnicate"), "'frobnicate' is not a valid YOLO argument.");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "trian"), "'trian' is not a valid YOLO argument. Similar arguments are i.e. ['train'].");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "detect train device0=1"),
                   "'device0' is not a valid YOLO argument. Similar arguments are i.e. ['device'].");
    // Every unknown key of the line at once, with ties in get_close_matches' order.
    EXPECT_MESSAGE(parse_line(&args, &cmd, "detect train lr=0.1 epochs=3 hsv=0.5 imgsize=320"),
                   "'lr' is not a valid YOLO argument. Similar arguments are i.e. ['lrf=0.01', 'lr0=0.01'].\n"
                   "'hsv' is not a valid YOLO argument. Similar arguments are i.e. ['hsv_v=0.4', 'hsv_s=0.7', 'hsv_h=0.015'].\n"
                   "'imgsize' is not a valid YOLO argument. Similar arguments are i.e. ['imgsz=640', 'optimizer=auto'].");
}

TEST(args_deprecated_keys) {
    EXPECT_OK(parse_line(&args, &cmd, "detect predict hide_labels=True hide_conf=0 line_thickness=3 label_smoothing=0.1"));
    EXPECT(!args.show_labels && args.show_conf);
    EXPECT(args.line_width.kind == ARGS_INT && args.line_width.i == 3);
    EXPECT_STR(cmd.warnings, "WARNING: 'hide_labels' is deprecated and will be removed in the future. Use 'show_labels' instead.\n"
                             "WARNING: 'hide_conf' is deprecated and will be removed in the future. Use 'show_conf' instead.\n"
                             "WARNING: 'line_thickness' is deprecated and will be removed in the future. Use 'line_width' instead.\n"
                             "WARNING: 'label_smoothing' is deprecated and no longer has any effect; it is ignored.\n");
    // show_boxes is Ultralytics' new name, but this program draws boxes always.
    EXPECT_MESSAGE(parse_line(&args, &cmd, "predict boxes=False"),
                   "'show_boxes' is not a valid YOLO argument. Similar arguments are i.e. ['show_labels=True', 'show_conf=True'].");
}

// ---- Values --------------------------------------------------------------------------------

TEST(args_types_are_checked) {
    EXPECT_MESSAGE(parse_line(&args, &cmd, "train epochs=10.0"),
                   "'epochs=10.0' is of invalid type float. 'epochs' must be an int (i.e. 'epochs=100')");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "train save=1"),
                   "'save=1' is of invalid type int. 'save' must be a bool (i.e. 'save=True' or 'save=False')");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "train lr0=fast"), "'lr0=fast' is of invalid type str. 'lr0' must be an int or float (i.e. 'lr0=0.01')");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "train epochs=None"),
                   "'epochs=None' is of invalid type NoneType. 'epochs' must be an int (i.e. 'epochs=100')");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "train imgsz=640,480"),
                   "'imgsz=640,480' is of invalid type tuple. 'imgsz' must be an int (i.e. 'imgsz=640')");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "train freeze=[0,1.5]"),
                   "'freeze=[0,1.5]' is of invalid type list. 'freeze' must be an int or a list of ints (i.e. 'freeze=10' or "
                   "'freeze=[0,1,2]')");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "train model=True"),
                   "'model=True' is of invalid type bool. 'model' must be a string (i.e. 'model=yolov8n.yaml')");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "train cache=disk"), "Invalid 'cache=disk'. 'cache' must be True, False or ram (i.e. 'cache=ram')");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "train optimizer=RMSProp"),
                   "Invalid 'optimizer=RMSProp'. Valid 'optimizer' values are SGD, Adam, AdamW, auto.");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "train device=cuda:0 conf=high"),
                   "'conf=high' is of invalid type str. 'conf' must be a number between 0.0 and 1.0 (i.e. 'conf=0.25')");
}

TEST(args_ranges_are_checked) {
    struct {
        const char *line, *message;
    } cases[] = {
        {"train fraction=1.5", "'fraction=1.5' is an invalid value. Valid 'fraction' values are > 0.0 and <= 1.0."},
        {"train fraction=0", "'fraction=0' is an invalid value. Valid 'fraction' values are > 0.0 and <= 1.0."},
        {"train lr0=0.0", "'lr0=0.0' is an invalid value. Valid 'lr0' values are > 0.0 and <= 1.0."},
        {"train hsv_h=1.5", "'hsv_h=1.5' is an invalid value. Valid 'hsv_h' values are between 0.0 and 1.0."},
        {"train conf=-0.1", "'conf=-0.1' is an invalid value. Valid 'conf' values are between 0.0 and 1.0."},
        {"train epochs=0", "'epochs=0' is an invalid value. Valid 'epochs' values are >= 1."},
        {"train imgsz=16", "'imgsz=16' is an invalid value. Valid 'imgsz' values are between 32 and 8192."},
        {"train seed=-1", "'seed=-1' is an invalid value. Valid 'seed' values are >= 0."},
        {"train nbs=0", "'nbs=0' is an invalid value. Valid 'nbs' values are >= 1."},
        {"train max_det=0", "'max_det=0' is an invalid value. Valid 'max_det' values are >= 1."},
        {"train mask_ratio=0", "'mask_ratio=0' is an invalid value. Valid 'mask_ratio' values are >= 1."},
        {"train workers=-2", "'workers=-2' is an invalid value. Valid 'workers' values are >= 0."},
        {"train patience=-1", "'patience=-1' is an invalid value. Valid 'patience' values are >= 0."},
        {"train save_minutes=-5", "'save_minutes=-5' is an invalid value. Valid 'save_minutes' values are >= 0.0."},
        {"train batch=0", "'batch=0' is an invalid value. Valid 'batch' values are >= 1."},
        {"train epochs=99999999999999999999", "'epochs=99999999999999999999' is an invalid value. Valid 'epochs' values are >= 1."},
        {"train box=1e999", "'box=1e999' is an invalid value. Valid 'box' values are finite numbers."},
        {"train classes=[0,-1]", "'classes=[0,-1]' is an invalid value. Valid 'classes' values are >= 0."},
        {"train batch=-1",
         "'batch=-1' asks for AutoBatch, which this program does not have; give the number of images per batch, i.e. 'batch=16'"},
        {"train batch=0.7",
         "'batch=0.7' asks for AutoBatch, which this program does not have; give the number of images per batch, i.e. 'batch=16'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) EXPECT_MESSAGE(parse_line(&args, &cmd, cases[i].line), cases[i].message);
    EXPECT_OK(parse_line(&args, &cmd, "train save_period=-5 fraction=1 lr0=1 dropout=0 box=-1"));
    EXPECT(args.save_period == -5 && args.fraction == 1.0 && args.lr0 == 1.0 && args.box == -1.0);
}

TEST(args_values_print_as_python_does) {
    EXPECT_OK(parse_line(&args, &cmd, "train lr0=1e-05 lrf=0.0001 box=1e16 cls=123 dfl=1.5e-7 degrees=-0.0 shear=0.1 classes=[0,2]"));
    EXPECT_STR(shown(&args, "lr0"), "1e-05");
    EXPECT_STR(shown(&args, "lrf"), "0.0001");
    EXPECT_STR(shown(&args, "box"), "1e+16");
    EXPECT_STR(shown(&args, "cls"), "123.0");
    EXPECT_STR(shown(&args, "dfl"), "1.5e-07");
    EXPECT_STR(shown(&args, "degrees"), "-0.0");
    EXPECT_STR(shown(&args, "shear"), "0.1");
    EXPECT_STR(shown(&args, "classes"), "[0, 2]");
    EXPECT_STR(shown(&args, "save"), "True");
    EXPECT_STR(shown(&args, "time"), "None");
    EXPECT_STR(shown(&args, "model"), "yolov8n.yaml");
    EXPECT_FAILS_WITH(args_format(&args, "epoch", (char[8]){0}, 8), "'epoch' is not a key");
}

// ---- Defaults filled after parsing ---------------------------------------------------------

TEST(args_defaults_depend_on_task_and_mode) {
    EXPECT_OK(parse_line(&args, &cmd, "epochs=1"));
    EXPECT_STR(cmd.warnings, "WARNING: 'mode' argument is missing. Valid modes are train, val, predict, info. Using default 'mode=train'.\n"
                             "WARNING: 'model' argument is missing. Using default 'model=yolov8n.yaml'.\n"
                             "WARNING: 'data' argument is missing. Using default 'data=shapes.yaml'.\n");
    EXPECT_OK(parse_line(&args, &cmd, "classify train"));
    EXPECT_STR(args.model, "yolov8n-cls.yaml");
    EXPECT_STR(args.data, "shapes-cls");
    EXPECT(args.imgsz == 224);
    EXPECT_OK(parse_line(&args, &cmd, "classify train imgsz=320"));
    EXPECT(args.imgsz == 320);
    EXPECT_OK(parse_line(&args, &cmd, "segment predict"));
    EXPECT_STR(args.model, "yolov8n-seg.yaml");
    EXPECT_STR(args.data, ""); // predict reads source=, not a dataset
    EXPECT(args.imgsz == 640);
    // val of a checkpoint takes the checkpoint's own dataset (cli/val_cmd.c): nothing filled, no warning.
    EXPECT_OK(parse_line(&args, &cmd, "detect val model=runs/detect/train/weights/best.ckpt"));
    EXPECT_STR(args.data, "");
    EXPECT_STR(cmd.warnings, "");
    EXPECT_OK(parse_line(&args, &cmd, "detect val model=yolov8n.yaml"));
    EXPECT_STR(args.data, "shapes.yaml");
    EXPECT_OK(parse_line(&args, &cmd, "detect train resume=runs/detect/train/weights/last.ckpt"));
    EXPECT_STR(args.model, "");
    EXPECT_OK(parse_line(&args, &cmd, "segment train model=configs/yolov8s-seg.yaml name=model"));
    EXPECT_STR(args.name, "yolov8s-seg");
    EXPECT(strstr(cmd.warnings, "WARNING: 'name=model' automatically updated to 'name=yolov8s-seg'.\n") != NULL);
}

TEST(args_nc_belongs_to_info) {
    EXPECT_OK(parse_line(&args, &cmd, "detect info nc=3"));
    EXPECT(args.nc.kind == ARGS_INT && args.nc.i == 3);
    EXPECT_MESSAGE(parse_line(&args, &cmd, "detect train nc=3"),
                   "'nc=3' is an argument of 'yolo TASK info' only; for train the dataset's names set the classes");
    EXPECT_MESSAGE(parse_line(&args, &cmd, "detect info nc=0"), "'nc=0' is an invalid value. Valid 'nc' values are between 1 and 100000.");
}

// ---- cfg= files and args.yaml --------------------------------------------------------------

TEST(args_cfg_file_replaces_what_came_before) {
    char dir[256], path[300], line[700];
    if (!scratch_make(dir, sizeof dir, "args")) return;
    snprintf(path, sizeof path, "%s/my.yaml", dir);
    EXPECT(test_file_write_text(path, "# a cfg file\nepochs: 7\nlr0: 0.05\nsave: no\nfreeze: [0, 1]\ncfg: other.yaml\n"));
    // segment, train and batch=4 come before cfg=: replaced (task and mode fall back to the defaults).
    snprintf(line, sizeof line, "segment train batch=4 cfg=%s imgsz=320", path);
    EXPECT_OK(parse_line(&args, &cmd, line));
    EXPECT(args.epochs == 7 && args.lr0 == 0.05 && !args.save && args.batch == 16 && args.imgsz == 320);
    EXPECT(args.freeze.kind == ARGS_LIST && args.freeze.n == 2);
    EXPECT_STR(args.task, "detect");
    EXPECT(strstr(cmd.warnings, "'mode' argument is missing") != NULL);
    EXPECT(args_given(&args, "epochs") && !args_given(&args, "batch"));

    EXPECT(test_file_write_text(path, "epochs: 7\nimgsz: 1.5\n"));
    snprintf(line, sizeof line, "train cfg=%s", path);
    char want[700];
    snprintf(want, sizeof want, "%s:2: 'imgsz=1.5' is of invalid type float. 'imgsz' must be an int (i.e. 'imgsz=640')", path);
    EXPECT_MESSAGE(parse_line(&args, &cmd, line), want);
    EXPECT(test_file_write_text(path, "epochs: 7\nepoch: 3\n"));
    snprintf(want, sizeof want, "%s:2: 'epoch' is not a valid YOLO argument. Similar arguments are i.e. ['epochs=100'].", path);
    EXPECT_MESSAGE(parse_line(&args, &cmd, line), want);
    EXPECT(test_file_write_text(path, "- epochs\n"));
    snprintf(want, sizeof want, "cfg=%s: %s: expected 'key: value' lines (a YAML map), e.g. 'epochs: 10'", path, path);
    EXPECT_MESSAGE(parse_line(&args, &cmd, line), want);
    EXPECT(test_file_write_text(path, "epochs: [7\n"));
    EXPECT_FAILS_WITH(parse_line(&args, &cmd, line), "; a cfg file holds 'key: value' lines");
    snprintf(line, sizeof line, "train cfg=%s/none.yaml", dir);
    snprintf(want, sizeof want, "cfg=%s/none.yaml: cannot open %s/none.yaml: No such file or directory", dir, dir);
    EXPECT_MESSAGE(parse_line(&args, &cmd, line), want);
    scratch_remove(dir);
}

TEST(args_yaml_round_trips) {
    char dir[256], path[300];
    if (!scratch_make(dir, sizeof dir, "args")) return;
    snprintf(path, sizeof path, "%s/args.yaml", dir);
    EXPECT_OK(parse_line(&args, &cmd,
                         "segment train lr0=1e-05 device=0,1 freeze=[0,1] classes=[] name=2 project=null data=runs/it's:a#b "
                         "conf=0.25 cache=ram pretrained=False"));
    snprintf(args.source, sizeof args.source, "tab\there \"quoted\"");
    EXPECT_OK(args_write_yaml(&args, path));
    EXPECT_OK(args_read_yaml(&other, path));
    for (int k = 0; k < args_key_count(); k++) {
        char a[2048], b[2048];
        const char *key = args_key_name(k);
        EXPECT_OK(args_format(&args, key, a, sizeof a));
        EXPECT_OK(args_format(&other, key, b, sizeof b));
        if (strcmp(a, b) != 0) test_fail(__FILE__, __LINE__, "%s: wrote %s, read %s", key, a, b);
        EXPECT(args_given(&other, key) == (k < args_key_count() - 1)); // every key but nc is in the file
    }
    char *text = NULL;
    EXPECT_OK(args_to_yaml(&args, &text));
    if (text) {
        const char *head = "task: segment\nmode: train\nmodel: yolov8n-seg.yaml\ndata: 'runs/it''s:a#b'\nepochs: 100\ntime: null\n";
        EXPECT(!strncmp(text, head, strlen(head)));
        const char *lines[] = {"\nlr0: 1.0e-05\n", "\nsave: true\n", "\nexist_ok: false\n", "\ndevice:\n- 0\n- 1\n",
                               "\nfreeze:\n- 0\n- 1\n", "\nclasses: []\n", "\nname: '2'\n", "\nproject: 'null'\n",
                               "\nconf: 0.25\n", "\ncache: ram\n", "\nsource: \"tab\\there \\\"quoted\\\"\"\n",
                               "\nweight_decay: 0.0005\n", "\nerasing: 0.4\n"};
        for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
            if (!strstr(text, lines[i])) test_fail(__FILE__, __LINE__, "args.yaml lacks \"%s\"", lines[i]);
        EXPECT(strstr(text, "nc:") == NULL);
        EXPECT(text[strlen(text) - 1] == '\n');
        free(text);
    }
    EXPECT_FAILS_WITH(args_from_yaml(&other, "epochs: 3\nbogus: 1\n", "checkpoint"), "checkpoint:2: 'bogus' is not a valid YOLO argument");
    EXPECT_FAILS_WITH(args_read_yaml(&other, "/nonexistent/args.yaml"), "cannot open /nonexistent/args.yaml");
    scratch_remove(dir);
}

// ---- Fuzz ----------------------------------------------------------------------------------

// Seeded random command lines from grammar fragments and random bytes: the parser never
// crashes (the sanitizer build checks memory too), every failure leaves a message, and every
// success leaves a valid task and mode.
TEST(args_parser_fuzz) {
    static const char *const pool[] = {
        "detect", "segment", "classify", "train", "val", "predict", "info", "help", "-h", "--version", "=", "epochs",
        "epochs=", "=3", "[", "]", "[0,", "1]", ",", "--", "--epochs=3", "lr0=1e-3", "device=0,1", "classes=[0, 2]",
        "cache", "resume", "name=model", "hide_labels=1", "boxes", "cfg=/nonexistent/x.yaml", "imgsz=33", "batch=-1",
        "nc=3", "fraction=0", "x=y=z", "'q'", "\"", "None", "true", "epochs=1e999", "freeze=[1,2,3,]", "cfg=none",
        "model=", "()", "(1)", "[,]", "0,", "label_smoothing=1", "conf=0.5", "time=1", "", " ", "-", "c", "imgsz=[640,",
    };
    enum { N_POOL = sizeof pool / sizeof pool[0], ROUNDS = 1000 };
    static char storage[8][64];
    for (uint64_t round = 0; round < ROUNDS; round++) {
        char *words[8];
        int n = (int)(rng_u32(7, round, 0) % 8);
        for (int i = 0; i < n; i++) {
            uint32_t r = rng_u32(7, round, 1 + (uint64_t)i * 3);
            if (r % 4 == 0) {
                // Random bytes, often with characters that matter to the grammar.
                int len = (int)(rng_u32(7, round, 2 + (uint64_t)i * 3) % 24);
                for (int b = 0; b < len; b++) {
                    uint32_t x = rng_u32(7, round, 1000 + (uint64_t)i * 64 + (uint64_t)b);
                    storage[i][b] = x % 3 == 0 ? "=[](),-'\" e0"[x / 3 % 12] : (char)(1 + x % 255);
                }
                storage[i][len] = '\0';
            } else {
                snprintf(storage[i], sizeof storage[i], "%s%s", pool[r / 4 % N_POOL],
                         r % 3 == 0 ? pool[rng_u32(7, round, 3 + (uint64_t)i * 3) % N_POOL] : "");
            }
            words[i] = storage[i];
        }
        yolo_error_clear();
        int rc = args_parse(&args, n, words, &cmd);
        if (rc != 0 && yolo_error()[0] == '\0') test_fail(__FILE__, __LINE__, "round %llu failed without a message", (unsigned long long)round);
        if (rc == 0 && cmd.action == ARGS_RUN) {
            bool task = !strcmp(args.task, "detect") || !strcmp(args.task, "segment") || !strcmp(args.task, "classify");
            bool mode = !strcmp(args.mode, "train") || !strcmp(args.mode, "val") || !strcmp(args.mode, "predict") || !strcmp(args.mode, "info");
            if (!task || !mode) test_fail(__FILE__, __LINE__, "round %llu: task %s mode %s", (unsigned long long)round, args.task, args.mode);
        }
        EXPECT(strlen(cmd.warnings) < sizeof cmd.warnings);
    }
    yolo_error_clear();
}

// args.yaml text (as checkpoints store it) with seeded random byte changes: read back or refused
// with a message, never a crash.
TEST(args_yaml_fuzz) {
    char *text = NULL;
    EXPECT_OK(parse_line(&args, &cmd, "segment train device=0,1 freeze=[0,1] name=it's:a"));
    EXPECT_OK(args_to_yaml(&args, &text));
    if (!text) return;
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    for (uint64_t round = 0; copy && round < 300; round++) {
        memcpy(copy, text, len + 1);
        for (int m = 0; m < 4; m++) {
            uint32_t r = rng_u32(11, round, (uint64_t)m);
            copy[r % len] = ":-[]{}'\"\n #0.e&*!|>"[r / (uint32_t)len % 20];
        }
        yolo_error_clear();
        if (args_from_yaml(&other, copy, "fuzz") != 0 && yolo_error()[0] == '\0')
            test_fail(__FILE__, __LINE__, "round %llu failed without a message", (unsigned long long)round);
    }
    yolo_error_clear();
    free(copy);
    free(text);
}
