#include "nn/model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "core/status.h"

// Everything a row's builder needs, resolved from the row and the rows before it.
typedef struct {
    const ModelDef *def;
    const ModelRow *row;
    int index;
    int nc;
    int n_in, in[MODEL_MAX_FROM]; // graph values
    int ch_in[MODEL_MAX_FROM];    // their channel counts
    int repeats;                  // after depth scaling
    int args[MODEL_MAX_ARGS];     // integer view of the args (nc resolved, booleans 0/1, None -1)
} RowCtx;

static int row_fail(const RowCtx *r, const char *fmt, const char *detail) {
    return yolo_fail("%s:%d: row %d (%s): %s%s", r->def->path, r->row->line, r->index, r->row->module, fmt, detail ? detail : "");
}

// ceil(c / 8) * 8 of the width-scaled, max_channels-capped count: Ultralytics' make_divisible.
static int scale_channels(const ModelDef *def, int c) {
    double capped = c < def->max_channels ? c : def->max_channels;
    return (int)ceil(capped * def->width / 8.0) * 8;
}

static int output_channels(const RowCtx *r) {
    int c2 = r->args[0];
    return c2 == r->nc ? c2 : scale_channels(r->def, c2); // the count equal to nc stays (Classify)
}

static int arg_or(const RowCtx *r, int i, int fallback) {
    return i < r->row->n_args && r->row->args[i].kind != ARG_NONE ? r->args[i] : fallback;
}

static int need_args(const RowCtx *r, int lo, int hi) {
    char detail[64];
    if (r->row->n_args >= lo && r->row->n_args <= hi) return 0;
    snprintf(detail, sizeof detail, "takes %d to %d args, got %d", lo, hi, r->row->n_args);
    return row_fail(r, "", detail);
}

static int need_one_input(const RowCtx *r) {
    return r->n_in == 1 ? 0 : row_fail(r, "takes a single input (`from` -1 or one index)", NULL);
}

// Builds one row; returns its output value and fills its output channels and the args text.
static int build_row(const ModuleCtx *mc, RowCtx *r, Model *m, const ModelOptions *opt, int *c2_out, char *args_text,
                     size_t args_cap) {
    const char *mod = r->row->module;
    char prefix[32];
    snprintf(prefix, sizeof prefix, "model.%d", r->index);
    bool repeat_aware = !strcmp(mod, "C2f");
    if (r->repeats > 1 && !repeat_aware) return row_fail(r, "repeats > 1 is only supported for C2f", NULL);
    int c1 = r->ch_in[0];
    if (!strcmp(mod, "Conv")) {
        TRY(need_one_input(r));
        TRY(need_args(r, 1, 4));
        int c2 = output_channels(r), k = arg_or(r, 1, 1), s = arg_or(r, 2, 1);
        if (r->row->n_args > 3 && r->row->args[3].kind != ARG_NONE) return row_fail(r, "explicit padding is not supported; leave it None", NULL);
        if (k < 1 || s < 1) return row_fail(r, "kernel and stride must be >= 1", NULL);
        *c2_out = c2;
        snprintf(args_text, args_cap, "[%d, %d, %d, %d]", c1, c2, k, s);
        return module_conv(mc, prefix, r->in[0], c2, k, s, 1);
    }
    if (!strcmp(mod, "C2f")) {
        TRY(need_one_input(r));
        TRY(need_args(r, 1, 2));
        int c2 = output_channels(r);
        bool shortcut = arg_or(r, 1, 0) != 0;
        *c2_out = c2;
        snprintf(args_text, args_cap, "[%d, %d, %d, %s]", c1, c2, r->repeats, shortcut ? "True" : "False");
        return module_c2f(mc, prefix, r->in[0], c1, c2, r->repeats, shortcut, 0.5);
    }
    if (!strcmp(mod, "SPPF")) {
        TRY(need_one_input(r));
        TRY(need_args(r, 1, 2));
        int c2 = output_channels(r), k = arg_or(r, 1, 5);
        if (k < 1 || k % 2 == 0) return row_fail(r, "the pooling kernel must be odd", NULL);
        *c2_out = c2;
        snprintf(args_text, args_cap, "[%d, %d, %d]", c1, c2, k);
        return module_sppf(mc, prefix, r->in[0], c1, c2, k);
    }
    if (!strcmp(mod, "nn.Upsample") || !strcmp(mod, "Upsample")) {
        TRY(need_one_input(r));
        TRY(need_args(r, 2, 3));
        if (r->row->n_args == 3 && strcmp(r->row->args[2].text, "nearest") != 0)
            return row_fail(r, "only \"nearest\" upsampling is supported", NULL);
        int scale = r->args[1];
        if (scale < 1) return row_fail(r, "the scale factor must be an integer >= 1", NULL);
        *c2_out = c1;
        snprintf(args_text, args_cap, "[None, %d, 'nearest']", scale);
        return module_upsample(mc, prefix, r->in[0], scale);
    }
    if (!strcmp(mod, "Concat")) {
        TRY(need_args(r, 0, 1));
        if (arg_or(r, 0, 1) != 1) return row_fail(r, "only channel concatenation (dimension 1) is supported", NULL);
        *c2_out = 0;
        for (int k = 0; k < r->n_in; k++) *c2_out += r->ch_in[k];
        snprintf(args_text, args_cap, "[1]");
        return module_concat(mc, prefix, r->in, r->n_in);
    }
    bool detect = !strcmp(mod, "Detect"), segment = !strcmp(mod, "Segment");
    if (detect || segment) {
        if (r->n_in > HEAD_MAX_LEVELS) return row_fail(r, "takes at most 4 feature levels", NULL);
        TRY(need_args(r, 1, segment ? 3 : 1));
        m->n_levels = r->n_in;
        *c2_out = 0;
        if (detect) {
            snprintf(args_text, args_cap, "[%d, %d levels]", r->nc, r->n_in);
            TRY_ID(m->dfl = module_detect(mc, prefix, r->in, r->ch_in, r->n_in, r->nc, m->outputs));
            m->head = HEAD_DETECT;
            return m->outputs[0];
        }
        int nm = arg_or(r, 1, 32), npr = scale_channels(r->def, arg_or(r, 2, 256));
        if (nm < 1) return row_fail(r, "the number of masks must be >= 1", NULL);
        snprintf(args_text, args_cap, "[%d, %d, %d, %d levels]", r->nc, nm, npr, r->n_in);
        TRY_ID(module_segment(mc, prefix, r->in, r->ch_in, r->n_in, r->nc, nm, npr, m->outputs, m->coeffs, &m->proto));
        char dfl[64];
        snprintf(dfl, sizeof dfl, "%s.dfl.conv.weight", prefix);
        m->dfl = graph_find(mc->g, dfl);
        m->head = HEAD_SEGMENT;
        return m->outputs[0];
    }
    if (!strcmp(mod, "Classify")) {
        TRY(need_one_input(r));
        TRY(need_args(r, 1, 1));
        int c2 = output_channels(r);
        *c2_out = c2;
        snprintf(args_text, args_cap, "[%d, %d]", c1, c2);
        m->head = HEAD_CLASSIFY;
        TRY_ID(m->logits = module_classify(mc, prefix, r->in[0], c2, opt->dropout));
        return m->logits;
    }
    return row_fail(r, "unknown module; known: Conv, C2f, SPPF, nn.Upsample, Concat, Detect, Segment, Classify", NULL);
}

// Integer view of a row's args: nc by name, booleans as 0/1, None as -1.
static int resolve_args(RowCtx *r) {
    for (int i = 0; i < r->row->n_args; i++) {
        const ModelArg *a = &r->row->args[i];
        switch (a->kind) {
        case ARG_INT:
        case ARG_BOOL:
            r->args[i] = (int)a->number;
            break;
        case ARG_FLOAT:
            r->args[i] = 0; // only module-specific float args (e.g. C2f's e) would use it; none is read as int
            break;
        case ARG_NONE:
            r->args[i] = -1;
            break;
        case ARG_STRING:
            if (!strcmp(a->text, "nc")) r->args[i] = r->nc;
            else if (i == 0) return row_fail(r, "unknown name in args: ", a->text);
            else r->args[i] = 0;
            break;
        }
    }
    return 0;
}

static void from_text(const ModelRow *row, char *out, size_t cap) {
    if (row->n_from == 1) {
        snprintf(out, cap, "%d", row->from[0]);
        return;
    }
    size_t used = (size_t)snprintf(out, cap, "[");
    for (int k = 0; k < row->n_from && used < cap; k++)
        used += (size_t)snprintf(out + used, cap - used, k ? ", %d" : "%d", row->from[k]);
    if (used < cap) snprintf(out + used, cap - used, "]");
}

static HeadKind head_of(const ModelDef *def) {
    const char *last = def->rows[def->n_rows - 1].module;
    return !strcmp(last, "Classify") ? HEAD_CLASSIFY : !strcmp(last, "Segment") ? HEAD_SEGMENT : HEAD_DETECT;
}

static int64_t params_since(const Graph *g, int first_value) {
    int64_t n = 0;
    for (int i = first_value; i < g->n_values; i++)
        if (g->values[i].kind == VALUE_PARAM) n += shape_numel(g->values[i].shape);
    return n;
}

int model_build(Graph *g, const ModelDef *def, const ModelOptions *opt, Model *m) {
    memset(m, 0, sizeof *m);
    m->nc = opt->nc > 0 ? opt->nc : def->nc;
    m->head = head_of(def);
    m->proto = m->logits = m->dfl = -1;
    // Detection models get Ultralytics' BN settings; classifiers keep PyTorch's defaults.
    m->bn_eps = m->head == HEAD_CLASSIFY ? 1e-5f : 1e-3f;
    m->bn_momentum = m->head == HEAD_CLASSIFY ? 0.1f : 0.03f;
    int height = opt->height ? opt->height : opt->imgsz, width = opt->width ? opt->width : opt->imgsz;
    if (m->head != HEAD_CLASSIFY && (height % 32 != 0 || width % 32 != 0))
        return yolo_fail("imgsz=%d must be a multiple of 32 (the largest stride of %s)", height % 32 ? height : width,
                         def->path);
    if (opt->batch < 1 || height < 32 || width < 32) return yolo_fail("batch must be >= 1 and imgsz >= 32");
    ModuleCtx mc = {.g = g, .bn_eps = m->bn_eps, .bn_momentum = m->bn_momentum};
    TRY_ID(m->input = graph_input(g, "images", shape_nchw(opt->batch, 3, height, width), false));
    int channels[MODEL_MAX_ROWS];
    for (int i = 0; i < def->n_rows; i++) {
        const ModelRow *row = &def->rows[i];
        RowCtx r = {.def = def, .row = row, .index = i, .nc = m->nc, .n_in = row->n_from};
        for (int k = 0; k < row->n_from; k++) {
            int f = row->from[k] == -1 ? i - 1 : row->from[k];
            r.in[k] = f < 0 ? m->input : m->layers[f].output;
            r.ch_in[k] = f < 0 ? 3 : channels[f];
        }
        r.repeats = row->repeats > 1 ? (int)fmax(nearbyint(row->repeats * def->depth), 1.0) : row->repeats;
        TRY(resolve_args(&r));
        LayerInfo *info = &m->layers[i];
        *info = (LayerInfo){.index = i, .repeats = r.repeats};
        snprintf(info->module, sizeof info->module, "%s", row->module);
        from_text(row, info->from, sizeof info->from);
        int first_value = g->n_values;
        int out = build_row(&mc, &r, m, opt, &channels[i], info->args, sizeof info->args);
        if (out < 0) return yolo_fail("%s:%d: building row %d (%s)", def->path, row->line, i, row->module);
        info->output = out;
        info->channels = channels[i];
        info->params = params_since(g, first_value);
        m->n_layers = i + 1;
    }
    if (m->head != HEAD_CLASSIFY && m->n_levels == 0)
        return yolo_fail("%s: the last row must be Detect, Segment or Classify", def->path);
    for (int l = 0; l < m->n_levels; l++) m->strides[l] = height / (int)g->values[m->outputs[l]].shape.dim[2];
    return 0;
}

const char *model_task_name(const Model *m) {
    return m->head == HEAD_CLASSIFY ? "classify" : m->head == HEAD_SEGMENT ? "segment" : "detect";
}

int model_head_values(const Model *m, int *values) {
    if (m->head == HEAD_CLASSIFY) {
        values[0] = m->logits;
        return 1;
    }
    int n = 0;
    for (int l = 0; l < m->n_levels; l++) values[n++] = m->outputs[l];
    if (m->head == HEAD_SEGMENT) {
        for (int l = 0; l < m->n_levels; l++) values[n++] = m->coeffs[l];
        values[n++] = m->proto;
    }
    return n;
}

static void fill_uniform(Tensor *t, float bound, uint64_t seed, int value_id) {
    uint64_t stream = rng_stream(RNG_INIT, 0, (uint32_t)value_id);
    for (int64_t k = 0; k < tensor_numel(t); k++) t->data[k] = bound * (2.0f * rng_uniform(seed, stream, (uint64_t)k) - 1.0f);
}

static void fill_const(Tensor *t, float v) {
    for (int64_t k = 0; k < tensor_numel(t); k++) t->data[k] = v;
}

// Detect's prior: box logits start at 1 and class logits at log(5 / nc / (640 / stride)^2), about
// five objects per 640x640 image spread over the classes and cells of the level.
static void init_detect_bias(Graph *g, const Model *m) {
    for (int l = 0; l < m->n_levels; l++) {
        const Value *out = &g->values[m->outputs[l]];
        // The level's output concat is named "<head>.out.<l>.concat"; the branch biases sit beside it.
        char head[VALUE_NAME_CAP], name[VALUE_NAME_CAP + 32];
        snprintf(head, sizeof head, "%s", out->name);
        char *cut = strstr(head, ".out.");
        if (!cut) continue;
        *cut = '\0';
        snprintf(name, sizeof name, "%s.cv2.%d.2.bias", head, l);
        int box = graph_find(g, name);
        snprintf(name, sizeof name, "%s.cv3.%d.2.bias", head, l);
        int cls = graph_find(g, name);
        if (box >= 0) fill_const(&g->values[box].data, 1.0f);
        double cells = 640.0 / m->strides[l];
        if (cls >= 0) fill_const(&g->values[cls].data, (float)log(5.0 / m->nc / (cells * cells)));
    }
    if (m->dfl >= 0)
        for (int k = 0; k < REG_MAX; k++) g->values[m->dfl].data.data[k] = (float)k;
}

void model_init_weights(Graph *g, const Model *m, uint64_t seed) {
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *node = &g->nodes[i];
        switch (node->kind) {
        case OP_CONV2D:
        case OP_CONV_TRANSPOSE2D:
        case OP_LINEAR: {
            // PyTorch's fan_in is the weight's size past dim 0: (Cin/g)*k*k for conv,
            // (Cout/g)*k*k for transposed conv (its weight is [Cin, Cout/g, k, k]), in for linear.
            Tensor *w = &g->values[node->param[0]].data;
            float bound = 1.0f / sqrtf((float)(tensor_numel(w) / w->shape.dim[0]));
            for (int j = 0; j < node->n_params; j++) fill_uniform(&g->values[node->param[j]].data, bound, seed, node->param[j]);
            break;
        }
        case OP_BATCHNORM2D:
        case OP_BATCHNORM2D_SILU:
            fill_const(&g->values[node->param[0]].data, 1.0f);
            fill_const(&g->values[node->param[1]].data, 0.0f);
            fill_const(&g->values[node->buffer[0]].data, 0.0f);
            fill_const(&g->values[node->buffer[1]].data, 1.0f);
            break;
        default:
            break;
        }
    }
    if (m->head != HEAD_CLASSIFY) init_detect_bias(g, m);
}

int64_t model_param_count(const Graph *g, bool trainable_only) {
    int64_t n = 0;
    for (int i = 0; i < g->n_values; i++) {
        const Value *v = &g->values[i];
        if (v->kind == VALUE_PARAM && (!trainable_only || v->needs_grad)) n += shape_numel(v->shape);
    }
    return n;
}

double model_reported_gflops(const Graph *g, int imgsz) {
    double macs = 0.0;
    double area_scale = (imgsz / 32.0) * (imgsz / 32.0);
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *node = &g->nodes[i];
        if (node->kind != OP_CONV2D && node->kind != OP_LINEAR && node->kind != OP_CONV_TRANSPOSE2D) continue;
        const Shape w = g->values[node->param[0]].shape;
        const Shape out = g->values[node->out].shape;
        double per_out = (double)(shape_numel(w) / w.dim[0]); // conv and linear: (Cin/g)*kh*kw, in
        if (node->kind == OP_CONV_TRANSPOSE2D) // thop charges every output the whole (Cin/g)*kh*kw
            per_out = (double)(w.dim[0] / node->p.conv.groups * w.dim[2] * w.dim[3]);
        double layer = (double)shape_numel(out) / (double)out.dim[0] * per_out;
        // Ultralytics measures at 32x32 and scales by area, which also scales the classifier's
        // linear layer although its cost does not depend on the image size.
        if (node->kind == OP_LINEAR) layer *= area_scale;
        macs += layer;
    }
    return 2.0 * macs / 1e9;
}
