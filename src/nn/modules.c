#include "nn/modules.h"

#include <stdio.h>

#include "core/status.h"

typedef char Name[VALUE_NAME_CAP];

// "<prefix>.<part>" into out. Real names are far shorter than a Name; one that is not is cut
// to empty, which graph_op then rejects, rather than silently colliding with another.
static const char *join(Name out, const char *prefix, const char *part) {
    if (snprintf(out, sizeof(Name), "%s.%s", prefix, part) >= (int)sizeof(Name)) out[0] = '\0';
    return out;
}

static int conv_node(const ModuleCtx *m, const char *name, int x, int c2, int k, int s, int groups, bool bias) {
    OpParams p = {.conv = {.cout = c2, .kh = k, .kw = k, .sh = s, .sw = s, .ph = k / 2, .pw = k / 2, .dh = 1, .dw = 1,
                           .groups = groups, .has_bias = bias}};
    return graph_op(m->g, OP_CONV2D, &p, &x, 1, name);
}

int module_conv(const ModuleCtx *m, const char *prefix, int x, int c2, int k, int s, int groups) {
    Name name;
    OpParams bn = {.bn = {.eps = m->bn_eps, .momentum = m->bn_momentum}};
    TRY_ID(x = conv_node(m, join(name, prefix, "conv"), x, c2, k, s, groups, false));
    // BN and SiLU as one node: no BN output is stored. Named "bn", so its parameters and running
    // statistics keep their state-dict names (<prefix>.bn.weight, ...).
    return graph_op(m->g, OP_BATCHNORM2D_SILU, &bn, &x, 1, join(name, prefix, "bn"));
}

int module_bottleneck(const ModuleCtx *m, const char *prefix, int x, int c1, int c2, bool shortcut, int k1, int k2, double e) {
    Name name;
    int hidden = (int)(c2 * e);
    int y;
    TRY_ID(y = module_conv(m, join(name, prefix, "cv1"), x, hidden, k1, 1, 1));
    TRY_ID(y = module_conv(m, join(name, prefix, "cv2"), y, c2, k2, 1, 1));
    if (!(shortcut && c1 == c2)) return y;
    return graph_op(m->g, OP_ADD, &(OpParams){0}, (int[]){x, y}, 2, join(name, prefix, "add"));
}

int module_c2f(const ModuleCtx *m, const char *prefix, int x, int c1, int c2, int n, bool shortcut, double e) {
    (void)c1;
    Name name, part;
    int c = (int)(c2 * e);
    if (2 + n > OP_MAX_INPUTS) return yolo_fail("%s: C2f with %d repeats is more than the engine's concat takes", prefix, n);
    int y;
    TRY_ID(y = module_conv(m, join(name, prefix, "cv1"), x, 2 * c, 1, 1, 1));
    int pieces[OP_MAX_INPUTS];
    TRY_ID(pieces[0] = graph_op(m->g, OP_SLICE, &(OpParams){.slice = {0, c}}, &y, 1, join(name, prefix, "split0")));
    TRY_ID(pieces[1] = graph_op(m->g, OP_SLICE, &(OpParams){.slice = {c, 2 * c}}, &y, 1, join(name, prefix, "split1")));
    for (int i = 0; i < n; i++) {
        snprintf(part, sizeof part, "m.%d", i);
        TRY_ID(pieces[2 + i] = module_bottleneck(m, join(name, prefix, part), pieces[1 + i], c, c, shortcut, 3, 3, 1.0));
    }
    int cat;
    TRY_ID(cat = graph_op(m->g, OP_CONCAT, &(OpParams){0}, pieces, 2 + n, join(name, prefix, "cat")));
    return module_conv(m, join(name, prefix, "cv2"), cat, c2, 1, 1, 1);
}

int module_sppf(const ModuleCtx *m, const char *prefix, int x, int c1, int c2, int k) {
    Name name, part;
    int hidden = c1 / 2;
    int pieces[4];
    TRY_ID(pieces[0] = module_conv(m, join(name, prefix, "cv1"), x, hidden, 1, 1, 1));
    OpParams pool = {.pool = {.kh = k, .kw = k, .sh = 1, .sw = 1, .ph = k / 2, .pw = k / 2}};
    for (int i = 1; i < 4; i++) {
        snprintf(part, sizeof part, "m%d", i);
        TRY_ID(pieces[i] = graph_op(m->g, OP_MAXPOOL2D, &pool, &pieces[i - 1], 1, join(name, prefix, part)));
    }
    int cat;
    TRY_ID(cat = graph_op(m->g, OP_CONCAT, &(OpParams){0}, pieces, 4, join(name, prefix, "cat")));
    return module_conv(m, join(name, prefix, "cv2"), cat, c2, 1, 1, 1);
}

int module_upsample(const ModuleCtx *m, const char *prefix, int x, int scale) {
    return graph_op(m->g, OP_UPSAMPLE_NEAREST, &(OpParams){.scale = scale}, &x, 1, prefix);
}

int module_concat(const ModuleCtx *m, const char *prefix, const int *xs, int n) {
    return graph_op(m->g, OP_CONCAT, &(OpParams){0}, xs, n, prefix);
}

// Conv3x3, Conv3x3, then a plain 1x1 Conv2d with bias: the shape of every head branch.
static int head_branch(const ModuleCtx *m, const char *prefix, int x, int hidden, int c_out) {
    Name name;
    TRY_ID(x = module_conv(m, join(name, prefix, "0"), x, hidden, 3, 1, 1));
    TRY_ID(x = module_conv(m, join(name, prefix, "1"), x, hidden, 3, 1, 1));
    return conv_node(m, join(name, prefix, "2"), x, c_out, 1, 1, 1, true);
}

int module_detect(const ModuleCtx *m, const char *prefix, const int *xs, const int *ch, int n_levels, int nc, int *outputs) {
    Name name, part;
    if (n_levels < 1 || n_levels > HEAD_MAX_LEVELS) return yolo_fail("%s: Detect takes 1 to %d inputs, got %d", prefix, HEAD_MAX_LEVELS, n_levels);
    int c2 = ch[0] / 4 > 64 ? ch[0] / 4 : 64; // max(16, ch0/4, 64)
    int c3 = ch[0] > (nc < 100 ? nc : 100) ? ch[0] : (nc < 100 ? nc : 100);
    for (int i = 0; i < n_levels; i++) {
        int box, cls;
        snprintf(part, sizeof part, "cv2.%d", i);
        TRY_ID(box = head_branch(m, join(name, prefix, part), xs[i], c2, 4 * REG_MAX));
        snprintf(part, sizeof part, "cv3.%d", i);
        TRY_ID(cls = head_branch(m, join(name, prefix, part), xs[i], c3, nc));
        snprintf(part, sizeof part, "out.%d", i);
        TRY_ID(outputs[i] = graph_op(m->g, OP_CONCAT, &(OpParams){0}, (int[]){box, cls}, 2, join(name, prefix, part)));
    }
    // Never trained (Ultralytics freezes every name containing ".dfl").
    return graph_param(m->g, join(name, prefix, "dfl.conv.weight"), shape_nchw(1, REG_MAX, 1, 1), false);
}

int module_segment(const ModuleCtx *m, const char *prefix, const int *xs, const int *ch, int n_levels, int nc, int nm,
                   int npr, int *outputs, int *coeffs, int *proto) {
    Name name, part;
    TRY_ID(module_detect(m, prefix, xs, ch, n_levels, nc, outputs));
    int p;
    TRY_ID(p = module_conv(m, join(name, prefix, "proto.cv1"), xs[0], npr, 3, 1, 1));
    OpParams up = {.conv = {.cout = npr, .kh = 2, .kw = 2, .sh = 2, .sw = 2, .dh = 1, .dw = 1, .groups = 1, .has_bias = 1}};
    TRY_ID(p = graph_op(m->g, OP_CONV_TRANSPOSE2D, &up, &p, 1, join(name, prefix, "proto.upsample")));
    TRY_ID(p = module_conv(m, join(name, prefix, "proto.cv2"), p, npr, 3, 1, 1));
    TRY_ID(*proto = module_conv(m, join(name, prefix, "proto.cv3"), p, nm, 1, 1, 1));
    int c4 = ch[0] / 4 > nm ? ch[0] / 4 : nm;
    for (int i = 0; i < n_levels; i++) {
        snprintf(part, sizeof part, "cv4.%d", i);
        TRY_ID(coeffs[i] = head_branch(m, join(name, prefix, part), xs[i], c4, nm));
    }
    return *proto;
}

int module_classify(const ModuleCtx *m, const char *prefix, int x, int nc, float dropout) {
    Name name;
    enum { CLASSIFY_HIDDEN = 1280 }; // fixed in Ultralytics' Classify, independent of the scale
    TRY_ID(x = module_conv(m, join(name, prefix, "conv"), x, CLASSIFY_HIDDEN, 1, 1, 1));
    TRY_ID(x = graph_op(m->g, OP_ADAPTIVE_AVGPOOL2D, &(OpParams){.adaptive = {1, 1}}, &x, 1, join(name, prefix, "pool")));
    TRY_ID(x = graph_op(m->g, OP_FLATTEN, &(OpParams){0}, &x, 1, join(name, prefix, "flatten")));
    TRY_ID(x = graph_op(m->g, OP_DROPOUT, &(OpParams){.drop_p = dropout}, &x, 1, join(name, prefix, "drop")));
    OpParams linear = {.linear = {.out_features = nc, .has_bias = 1}};
    return graph_op(m->g, OP_LINEAR, &linear, &x, 1, join(name, prefix, "linear"));
}
