#include "engine/inference_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "core/status.h"
#include "io/config_dir.h"

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

// The task a model's last row (its head) serves.
static const char *head_task(const ModelDef *def) {
    const char *head = def->n_rows > 0 ? def->rows[def->n_rows - 1].module : "";
    return !strcmp(head, "Segment") ? "segment" : !strcmp(head, "Classify") ? "classify" : "detect";
}

static char **names_alloc(int nc) { return calloc((size_t)nc, sizeof(char *)); }

static void names_free(char **names, int nc) {
    for (int i = 0; names && i < nc; i++) free(names[i]);
    free(names);
}

// names: from the checkpoint state's dataset.names, when it has them.
static char **names_from_state(const cJSON *state, int nc) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(state, "dataset"), "names");
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) != nc) return NULL;
    char **names = names_alloc(nc);
    for (int i = 0; names && i < nc; i++) {
        const cJSON *n = cJSON_GetArrayItem(list, i);
        names[i] = cJSON_IsString(n) ? strdup(n->valuestring) : NULL;
        if (!names[i]) {
            names_free(names, nc);
            return NULL;
        }
    }
    return names;
}

static const char *scalar(yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

// names: from the dataset YAML text the checkpoint keeps (`names: [a, b]` or `names: {0: a}`).
// NULL when it has none that fit nc (the checkpoint's own names go first; this serves older ones).
static char **names_from_yaml(const char *text, int nc) {
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!text || !text[0] || !yaml_parser_initialize(&parser)) return NULL;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    char **names = NULL;
    if (yaml_parser_load(&parser, &doc)) {
        yaml_node_t *top = yaml_document_get_root_node(&doc), *list = NULL;
        for (yaml_node_pair_t *p = top && top->type == YAML_MAPPING_NODE ? top->data.mapping.pairs.start : NULL;
             p && p < top->data.mapping.pairs.top; p++) {
            const char *key = scalar(yaml_document_get_node(&doc, p->key));
            if (key && !strcmp(key, "names")) list = yaml_document_get_node(&doc, p->value);
        }
        names = list ? names_alloc(nc) : NULL;
        int found = 0;
        if (names && list->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++, found++) {
                const char *s = scalar(yaml_document_get_node(&doc, *it));
                if (found < nc && s) names[found] = strdup(s);
            }
        } else if (names && list->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *p = list->data.mapping.pairs.start; p < list->data.mapping.pairs.top; p++, found++) {
                const char *k = scalar(yaml_document_get_node(&doc, p->key));
                const char *s = scalar(yaml_document_get_node(&doc, p->value));
                char *end = NULL;
                long index = k ? strtol(k, &end, 10) : -1;
                if (k && *end == '\0' && index >= 0 && index < nc && s && !names[index]) names[index] = strdup(s);
            }
        }
        bool whole = names && found == nc;
        for (int i = 0; whole && i < nc; i++) whole = names[i] != NULL;
        if (!whole) {
            names_free(names, nc);
            names = NULL;
        }
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    return names;
}

static int open_checkpoint(const char *model, const char *task, const char *mode, InferenceModel *im) {
    TRY(checkpoint_open(model, &im->ck));
    if (strcmp(im->ck.task, task) != 0)
        return yolo_fail("%s is a %s checkpoint, not a %s one; run it with `yolo %s %s model=%s`", im->ck.path, im->ck.task,
                         task, im->ck.task, mode, im->ck.path);
    TRY(checkpoint_model_def(&im->ck, &im->def));
    im->from_checkpoint = true;
    im->nc = im->def.nc;
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(im->ck.state, "train_args");
    im->train_args = cJSON_IsString(args) ? args->valuestring : "";
    im->names = names_from_state(im->ck.state, im->nc);
    if (!im->names) {
        const cJSON *yaml = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(im->ck.state, "dataset"), "yaml");
        im->names = names_from_yaml(cJSON_IsString(yaml) ? yaml->valuestring : NULL, im->nc);
    }
    return 0;
}

int inference_model_open(const char *model, const char *task, const char *mode, bool allow_yaml, InferenceModel *im) {
    *im = (InferenceModel){.train_args = ""};
    if (!model || !model[0]) return yolo_fail("model= is missing; give a checkpoint, i.e. model=runs/%s/train/weights/best.ckpt", task);
    if (snprintf(im->path, sizeof im->path, "%s", model) >= (int)sizeof im->path) return yolo_fail("model=%.80s...: path too long", model);
    int rc;
    if (ends_with(model, ".ckpt")) {
        rc = open_checkpoint(model, task, mode, im);
    } else if (ends_with(model, ".pt") || ends_with(model, ".pth")) {
        rc = yolo_fail("model=%s: PyTorch files are not read; give a .ckpt that `yolo %s train` wrote", model, task);
    } else if (!ends_with(model, ".yaml") && !ends_with(model, ".yml")) {
        rc = yolo_fail("model=%s: give a checkpoint (.ckpt)%s", model, allow_yaml ? " or a model YAML" : "");
    } else if (!allow_yaml) {
        rc = yolo_fail("model=%s is a model description without trained weights; give a checkpoint, i.e. "
                       "model=runs/%s/train/weights/best.ckpt", model, task);
    } else {
        char models[4200];
        rc = config_subdir("models", models, sizeof models);
        if (rc == 0) rc = model_yaml_load(model, models, &im->def);
        const char *have = rc == 0 ? head_task(&im->def) : task;
        if (rc == 0 && strcmp(have, task) != 0)
            rc = yolo_fail("%s is a %s model, not a %s one; run it with `yolo %s %s model=%s`", im->def.path, have, task, have,
                           mode, model);
        im->nc = im->def.nc;
    }
    if (rc != 0) inference_model_free(im);
    return rc;
}

int inference_model_build(InferenceModel *im, int imgsz, int threads, uint64_t seed) {
    if (threads < 1) threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    im->imgsz = imgsz;
    im->backend = backend_cpu_create(threads < 1 ? 1 : threads);
    if (!im->backend) return -1;
    im->g = graph_create(im->backend);
    if (!im->g) return -1;
    ModelOptions mo = {.nc = im->nc, .batch = 1, .imgsz = imgsz};
    TRY(model_build(im->g, &im->def, &mo, &im->m));
    // This graph only holds the weights for the per-shape graphs (engine/evaluate.h): it keeps no
    // output.
    TRY(graph_plan_inference(im->g, NULL, 0));
    if (!im->from_checkpoint) {
        model_init_weights(im->g, &im->m, seed);
        return 0;
    }
    int copied = 0, total = 0;
    TRY(checkpoint_transfer(&im->ck, "ema.", im->g, &copied, &total));
    if (copied != total)
        return yolo_fail("%s: %d of the model's %d tensors are not in the checkpoint with their shapes; the file does not "
                         "match the model it describes", im->ck.path, total - copied, total);
    return 0;
}

void inference_model_free(InferenceModel *im) {
    graph_destroy(im->g);
    backend_destroy(im->backend);
    names_free(im->names, im->nc);
    model_def_free(&im->def);
    checkpoint_close(&im->ck);
    *im = (InferenceModel){.train_args = ""};
}
