#include "tasks/detect/ciou.h"

#include <math.h>
#include <stddef.h>

static const double PI = 3.14159265358979323846;
static const double CIOU_EPS = 1e-7;

float ciou_f32(const float b1[4], const float b2[4]) {
    // Each line is one PyTorch op on float32 tensors; Python scalars become float32 operands.
    const float eps = (float)CIOU_EPS;
    float w1 = b1[2] - b1[0], h1 = b1[3] - b1[1] + eps;
    float w2 = b2[2] - b2[0], h2 = b2[3] - b2[1] + eps;
    float iw = fmaxf(fminf(b1[2], b2[2]) - fmaxf(b1[0], b2[0]), 0.0f);
    float ih = fmaxf(fminf(b1[3], b2[3]) - fmaxf(b1[1], b2[1]), 0.0f);
    float inter = iw * ih;
    float uni = w1 * h1 + w2 * h2 - inter + eps;
    float iou = inter / uni;
    float cw = fmaxf(b1[2], b2[2]) - fminf(b1[0], b2[0]);
    float ch = fmaxf(b1[3], b2[3]) - fminf(b1[1], b2[1]);
    float c2 = cw * cw + ch * ch + eps;
    float dx = b2[0] + b2[2] - b1[0] - b1[2], dy = b2[1] + b2[3] - b1[1] - b1[3];
    float rho2 = (dx * dx + dy * dy) / 4.0f;
    float da = atanf(w2 / h2) - atanf(w1 / h1);
    float v = (float)(4.0 / (PI * PI)) * (da * da);
    float alpha = v / (v - iou + (float)(1.0 + CIOU_EPS));
    return iou - (rho2 / c2 + v * alpha);
}

// The terms of CIoU in double, and their gradients with respect to b1 when grad is set.
typedef struct {
    double iou, rho2_c2, v;
    double d_iou[4], d_rho2_c2[4], d_v[4];
} CiouTerms;

// d min(a, b) / da: 1 where a is the smaller, 1/2 where they are equal (PyTorch's minimum).
static double dmin(double a, double b) { return a < b ? 1.0 : a == b ? 0.5 : 0.0; }
static double dmax(double a, double b) { return a > b ? 1.0 : a == b ? 0.5 : 0.0; }

static void ciou_terms(const double b1[4], const double b2[4], CiouTerms *t, int grad) {
    double x1 = b1[0], y1 = b1[1], x2 = b1[2], y2 = b1[3];
    double X1 = b2[0], Y1 = b2[1], X2 = b2[2], Y2 = b2[3];
    double w1 = x2 - x1, h1 = y2 - y1 + CIOU_EPS;
    double w2 = X2 - X1, h2 = Y2 - Y1 + CIOU_EPS;
    double iw = fmin(x2, X2) - fmax(x1, X1), ih = fmin(y2, Y2) - fmax(y1, Y1);
    double iwc = iw > 0.0 ? iw : 0.0, ihc = ih > 0.0 ? ih : 0.0;
    double inter = iwc * ihc;
    double uni = w1 * h1 + w2 * h2 - inter + CIOU_EPS;
    t->iou = inter / uni;
    double cw = fmax(x2, X2) - fmin(x1, X1), ch = fmax(y2, Y2) - fmin(y1, Y1);
    double c2 = cw * cw + ch * ch + CIOU_EPS;
    double dx = X1 + X2 - x1 - x2, dy = Y1 + Y2 - y1 - y2;
    double rho2 = (dx * dx + dy * dy) / 4.0;
    t->rho2_c2 = rho2 / c2;
    double k = 4.0 / (PI * PI), r1 = w1 / h1, da = atan(w2 / h2) - atan(r1);
    t->v = k * da * da;
    if (!grad) return;

    // Partials along b1 = (x1, y1, x2, y2). The clamp passes the gradient where its input >= 0.
    double pass_w = iw >= 0.0 ? ihc : 0.0, pass_h = ih >= 0.0 ? iwc : 0.0;
    double d_inter[4] = {-pass_w * dmax(x1, X1), -pass_h * dmax(y1, Y1), pass_w * dmin(x2, X2), pass_h * dmin(y2, Y2)};
    double d_w1[4] = {-1, 0, 1, 0}, d_h1[4] = {0, -1, 0, 1};
    double d_cw[4] = {-dmin(x1, X1), 0, dmax(x2, X2), 0}, d_ch[4] = {0, -dmin(y1, Y1), 0, dmax(y2, Y2)};
    double d_rho2[4] = {-dx / 2.0, -dy / 2.0, -dx / 2.0, -dy / 2.0};
    double d_v_d_r1 = -2.0 * k * da / (1.0 + r1 * r1);
    for (int i = 0; i < 4; i++) {
        double d_union = h1 * d_w1[i] + w1 * d_h1[i] - d_inter[i];
        t->d_iou[i] = d_inter[i] / uni - inter / (uni * uni) * d_union;
        double d_c2 = 2.0 * cw * d_cw[i] + 2.0 * ch * d_ch[i];
        t->d_rho2_c2[i] = d_rho2[i] / c2 - rho2 / (c2 * c2) * d_c2;
        t->d_v[i] = d_v_d_r1 * (d_w1[i] / h1 - w1 / (h1 * h1) * d_h1[i]);
    }
}

double ciou_alpha(const double b1[4], const double b2[4]) {
    CiouTerms t;
    ciou_terms(b1, b2, &t, 0);
    return t.v / (t.v - t.iou + (1.0 + CIOU_EPS));
}

double ciou_fixed_alpha(const double b1[4], const double b2[4], double alpha, double d_b1[4]) {
    CiouTerms t;
    ciou_terms(b1, b2, &t, d_b1 != NULL);
    if (d_b1)
        for (int i = 0; i < 4; i++) d_b1[i] = t.d_iou[i] - t.d_rho2_c2[i] - alpha * t.d_v[i];
    return t.iou - (t.rho2_c2 + t.v * alpha);
}
