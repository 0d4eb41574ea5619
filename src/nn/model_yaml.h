// Model YAML files in Ultralytics' format (nc, scales, backbone and head rows of
// [from, repeats, module, args]) read into a plain description; nn/model.c turns it into a graph.
#ifndef YOLO_NN_MODEL_YAML_H
#define YOLO_NN_MODEL_YAML_H

enum {
    MODEL_MAX_ROWS = 64,
    MODEL_MAX_FROM = 8,
    MODEL_MAX_ARGS = 8,
    MODEL_NAME_CAP = 32,
    MODEL_PATH_CAP = 1024,
};

typedef enum { ARG_INT, ARG_FLOAT, ARG_BOOL, ARG_NONE, ARG_STRING } ModelArgKind;

typedef struct {
    ModelArgKind kind;
    double number; // ARG_INT, ARG_FLOAT, ARG_BOOL (0/1)
    char text[MODEL_NAME_CAP]; // ARG_STRING, and the literal as written for messages
} ModelArg;

typedef struct {
    int n_from, from[MODEL_MAX_FROM]; // -1 = previous row; absolute indices otherwise
    int repeats;
    char module[MODEL_NAME_CAP];
    int n_args;
    ModelArg args[MODEL_MAX_ARGS];
    int line; // in the YAML file, 1-based, for messages
} ModelRow;

typedef struct {
    char path[MODEL_PATH_CAP]; // the file actually read (yolov8.yaml for model=yolov8n.yaml)
    char *text;                // its verbatim contents (checkpoints store them)
    int nc;
    char scale; // the letter in use, or 0 when the file has no scales
    double depth, width;
    int max_channels;
    int n_backbone; // rows [0, n_backbone) are the backbone
    int n_rows;
    ModelRow rows[MODEL_MAX_ROWS];
} ModelDef;

// Reads a model YAML. `name` is a path or a bare name looked up in `models_dir`; a scale letter
// in the name (yolov8n.yaml) selects that scale and the scale-free file (yolov8.yaml) is read.
// Returns -1 with a message naming the file, row and line on any problem.
int model_yaml_load(const char *name, const char *models_dir, ModelDef *def);
// Parses YAML text directly; `path` and `scale` as model_yaml_load would derive them.
int model_yaml_parse(const char *text, const char *path, char scale, ModelDef *def);
void model_def_free(ModelDef *def);

#endif
