// The chart library and results.png: ticks and their labels, pixels of drawn lines where the data
// puts them, the subplot layout Ultralytics uses for each task's results.csv columns, scipy's
// gaussian_filter1d, and results_plot's files and errors.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot/chart.h"
#include "plot/results_plot.h"
#include "file_util.h"
#include "plot_check.h"
#include "scratch.h"
#include "test.h"

static const ChartColor WHITE = {1.0, 1.0, 1.0};

TEST(chart_ticks_are_round_and_labelled_with_the_decimals_they_need) {
    double t[CHART_MAX_TICKS], step;
    char text[64];
    int n = chart_ticks(0.0, 1.0, 5, false, t, &step);
    EXPECT(n == 6 && fabs(step - 0.2) < 1e-12 && t[0] == 0.0 && fabs(t[5] - 1.0) < 1e-12);
    chart_tick_label(t[1], step, text, sizeof text);
    EXPECT(!strcmp(text, "0.2"));
    chart_tick_label(0.25, 0.25, text, sizeof text);
    EXPECT(!strcmp(text, "0.25"));
    // Epochs: whole numbers, even for a one-epoch range padded around 1.
    n = chart_ticks(0.8, 5.2, 9, true, t, &step);
    EXPECT(n == 5 && step == 1.0 && t[0] == 1.0 && t[4] == 5.0);
    n = chart_ticks(0.95, 1.05, 5, true, t, &step);
    EXPECT(n == 1 && t[0] == 1.0);
    // A range around zero labels zero as "0.00", never "-0.00".
    n = chart_ticks(-0.05, 0.05, 5, false, t, &step);
    bool zero = false;
    for (int i = 0; i < n; i++) {
        chart_tick_label(t[i], step, text, sizeof text);
        zero |= !strcmp(text, "0.00");
        EXPECT(strcmp(text, "-0.00") != 0);
    }
    EXPECT(zero);
    // Tiny values in exponent form, with enough digits that neighbours differ.
    n = chart_ticks(7.362e-5, 7.398e-5, 4, false, t, &step);
    EXPECT(n >= 2);
    char prev[64] = "";
    for (int i = 0; i < n; i++) {
        chart_tick_label(t[i], step, text, sizeof text);
        EXPECT(strchr(text, 'e') && strcmp(text, prev) != 0);
        snprintf(prev, sizeof prev, "%s", text);
    }
    // Never more ticks than fit the array, whatever the target.
    EXPECT(chart_ticks(0.0, 1e6, 1000, true, t, &step) <= CHART_MAX_TICKS);
}

TEST(chart_lines_and_markers_land_on_their_data_pixels) {
    char dir[256], path[512];
    if (!scratch_make(dir, sizeof dir, "chart")) return;
    snprintf(path, sizeof path, "%s/lines.png", dir);
    Chart *c = chart_create(400, 300);
    EXPECT(c != NULL);
    if (!c) return;
    ChartAxes ax;
    chart_axes_init(&ax, c, (ChartRect){0, 0, 400, 300}, 12.0);
    chart_axes_set_limits(&ax, 0.0, 10.0, 0.0, 10.0);
    chart_axes_draw(&ax, "title", "x", "y");
    const double x[2] = {0.0, 10.0}, y[2] = {5.0, 5.0}, mx[1] = {7.0}, my[1] = {2.0};
    const double dx[2] = {0.0, 10.0}, dy[2] = {8.0, 8.0};
    const ChartLine red = {CHART_TAB10[3], 4.0, CHART_SOLID, 0.0};
    const ChartLine green_dots = {CHART_TAB10[2], 0.0, CHART_SOLID, 5.0};
    const ChartLine dotted = {CHART_TAB10[0], 4.0, CHART_DOTTED, 0.0};
    chart_axes_line(&ax, x, y, 2, &red);
    chart_axes_line(&ax, mx, my, 1, &green_dots);
    chart_axes_line(&ax, dx, dy, 2, &dotted);
    const ChartAxes drawn = ax;
    EXPECT_OK(chart_save_png(c, path));
    chart_destroy(c);
    Image img;
    if (plot_check_png(path, 400, 300, &img)) {
        const double py = chart_axes_py(&drawn, 5.0);
        for (double v = 1.0; v < 10.0; v += 1.5)
            EXPECT(plot_check_pixel(&img, chart_axes_px(&drawn, v), py, CHART_TAB10[3], 8));
        EXPECT(plot_check_pixel(&img, chart_axes_px(&drawn, 7.0), chart_axes_py(&drawn, 2.0), CHART_TAB10[2], 8));
        // Away from every line the plot area is white.
        EXPECT(plot_check_pixel(&img, chart_axes_px(&drawn, 3.3), chart_axes_py(&drawn, 3.3), WHITE, 2));
        // A dotted line alternates between ink and gaps along its length.
        int on = 0, off = 0;
        for (double px = chart_axes_px(&drawn, 1.0); px < chart_axes_px(&drawn, 9.0); px += 1.0) {
            if (plot_check_pixel(&img, px, chart_axes_py(&drawn, 8.0), CHART_TAB10[0], 40)) on++;
            else off++;
        }
        EXPECT(on > 20 && off > 20);
        EXPECT(plot_check_spread(&img) > 5.0);
        image_free(&img);
    }
    scratch_remove(dir);
}

TEST(chart_refuses_an_impossible_size_and_an_unwritable_path) {
    EXPECT_FAILS_WITH(chart_create(0, 100) == NULL ? -1 : 0, "outside 16..16384");
    Chart *c = chart_create(32, 32);
    EXPECT_FAILS_WITH(chart_save_png(c, "/nonexistent-folder/x.png"), "/nonexistent-folder/x.png");
    chart_destroy(c);
}

static const char *DETECT_COLUMNS[] = {
    "epoch", "time", "train/box_loss", "train/cls_loss", "train/dfl_loss", "metrics/precision(B)", "metrics/recall(B)",
    "metrics/mAP50(B)", "metrics/mAP50-95(B)", "val/box_loss", "val/cls_loss", "val/dfl_loss", "lr/pg0", "lr/pg1", "lr/pg2",
};

static const char *SEGMENT_COLUMNS[] = {
    "epoch", "time", "train/box_loss", "train/seg_loss", "train/cls_loss", "train/dfl_loss", "metrics/precision(B)",
    "metrics/recall(B)", "metrics/mAP50(B)", "metrics/mAP50-95(B)", "metrics/precision(M)", "metrics/recall(M)",
    "metrics/mAP50(M)", "metrics/mAP50-95(M)", "val/box_loss", "val/seg_loss", "val/cls_loss", "val/dfl_loss", "lr/pg0",
    "lr/pg1", "lr/pg2",
};

static const char *CLASSIFY_COLUMNS[] = {
    "epoch", "time", "train/loss", "metrics/accuracy_top1", "metrics/accuracy_top5", "val/loss", "lr/pg0", "lr/pg1", "lr/pg2",
};

TEST(results_layout_matches_ultralytics_grids_per_task) {
    int rows, cols, cell[64];
    // Ultralytics' plot_results index lists for detect and segment.
    EXPECT(results_layout(DETECT_COLUMNS, 15, &rows, &cols, cell) == 10);
    const int detect[] = {2, 3, 4, 5, 6, 9, 10, 11, 7, 8};
    EXPECT(rows == 2 && cols == 5 && !memcmp(cell, detect, sizeof detect));
    EXPECT(results_layout(SEGMENT_COLUMNS, 21, &rows, &cols, cell) == 16);
    const int segment[] = {2, 3, 4, 5, 6, 7, 10, 11, 14, 15, 16, 17, 8, 9, 12, 13};
    EXPECT(rows == 2 && cols == 8 && !memcmp(cell, segment, sizeof segment));
    // Classify: train above val, top-1 above top-5 (Ultralytics puts both losses on top; the same
    // four plots).
    EXPECT(results_layout(CLASSIFY_COLUMNS, 9, &rows, &cols, cell) == 4);
    const int classify[] = {2, 3, 5, 4};
    EXPECT(rows == 2 && cols == 2 && !memcmp(cell, classify, sizeof classify));
    // Unknown columns still get a grid; an odd count leaves one cell empty.
    const char *odd[] = {"epoch", "a", "b", "c"};
    EXPECT(results_layout(odd, 4, &rows, &cols, cell) == 3);
    EXPECT(rows == 2 && cols == 2 && cell[0] == 1 && cell[1] == 2 && cell[2] == 3 && cell[3] == -1);
    const char *none[] = {"epoch", "time", "lr/pg0"};
    EXPECT(results_layout(none, 3, &rows, &cols, cell) == 0);
}

// scipy's Gaussian kernel at sigma 3: exp(-k^2 / 18) over |k| <= 12 (truncate 4), normalised.
static double kernel(int k) {
    double sum = 0.0;
    for (int j = -12; j <= 12; j++) sum += exp(-(double)(j * j) / 18.0);
    return abs(k) > 12 ? 0.0 : exp(-(double)(k * k) / 18.0) / sum;
}

TEST(results_smoothing_is_scipy_gaussian_filter1d) {
    // An impulse far from the ends comes out as the kernel itself.
    double y[41] = {0}, out[41];
    y[20] = 1.0;
    results_gaussian_smooth(y, 41, 3.0, out);
    for (int i = 0; i < 41; i++) EXPECT_NEAR(out[i], kernel(i - 20), 1e-15);
    // A constant stays constant, with reflection at both ends.
    double flat[7] = {3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5}, flat_out[7];
    results_gaussian_smooth(flat, 7, 3.0, flat_out);
    for (int i = 0; i < 7; i++) EXPECT_NEAR(flat_out[i], 3.5, 1e-12);
    // Two points, shorter than the kernel: 'reflect' repeats 1 0 | 0 1 | 1 0 | ..., so the value at
    // index 0 sums the kernel where k mod 4 is 0 or 3.
    double two[2] = {1.0, 0.0}, two_out[2], want = 0.0;
    for (int k = -12; k <= 12; k++) want += ((k % 4 + 4) % 4 == 0 || (k % 4 + 4) % 4 == 3) ? kernel(k) : 0.0;
    results_gaussian_smooth(two, 2, 3.0, two_out);
    EXPECT_NEAR(two_out[0], want, 1e-15);
    // One epoch: the value itself.
    double one = 0.7, one_out;
    results_gaussian_smooth(&one, 1, 3.0, &one_out);
    EXPECT_NEAR(one_out, 0.7, 1e-15);
}

TEST(results_plot_draws_every_column_of_a_detect_or_classify_csv) {
    char dir[256], csv[512], png[512];
    if (!scratch_make(dir, sizeof dir, "results")) return;
    snprintf(csv, sizeof csv, "%s/results.csv", dir);
    snprintf(png, sizeof png, "%s/results.png", dir);
    EXPECT(test_file_write_text(csv, "epoch,time,train/box_loss,train/cls_loss,train/dfl_loss,metrics/precision(B),"
                                     "metrics/recall(B),metrics/mAP50(B),metrics/mAP50-95(B),val/box_loss,val/cls_loss,"
                                     "val/dfl_loss,lr/pg0,lr/pg1,lr/pg2\n"
                                     "1,2.5,1.9,3.2,1.4,0.1,0.2,0.05,0.02,1.8,3.0,1.3,0.01,0.01,0.01\n"
                                     "2,5.1,1.7,2.6,1.3,0.3,0.4,0.2,0.1,1.6,2.5,1.2,0.01,0.01,0.01\n"
                                     "3,7.6,1.5,2.1,1.2,0.5,0.5,0.4,0.2,1.5,2.0,1.1,0.01,0.01,0.01\n"
                                     "4,10.2,1.4,1.8")); // a row cut short by a crash: skipped
    EXPECT_OK(results_plot(csv, png));
    Image img;
    if (plot_check_png(png, 5 * RESULTS_CELL_W + 2 * RESULTS_MARGIN, 2 * RESULTS_CELL_H + 2 * RESULTS_MARGIN, &img)) {
        EXPECT(plot_check_spread(&img) > 5.0);
        // The values (blue, with dots) and the smoothed line (orange) in each of the 10 cells.
        EXPECT(plot_check_count(&img, CHART_TAB10[0], 10) > 10 * 100);
        EXPECT(plot_check_count(&img, CHART_TAB10[1], 10) > 10 * 30);
        image_free(&img);
    }
    EXPECT(test_file_write_text(csv, "epoch,time,train/loss,metrics/accuracy_top1,metrics/accuracy_top5,val/loss,lr/pg0,"
                                     "lr/pg1,lr/pg2\n1,1.0,2.3,0.2,0.6,2.2,0.01,0.01,0.01\n"));
    EXPECT_OK(results_plot_dir(dir));
    if (plot_check_png(png, 2 * RESULTS_CELL_W + 2 * RESULTS_MARGIN, 2 * RESULTS_CELL_H + 2 * RESULTS_MARGIN, &img)) {
        EXPECT(plot_check_count(&img, CHART_TAB10[0], 10) > 4 * 20);
        image_free(&img);
    }
    // Bad inputs name the file and leave the previous picture in place.
    EXPECT(test_file_write_text(csv, "epoch,time,lr/pg0\n1,1.0,0.01\n"));
    EXPECT_FAILS_WITH(results_plot(csv, png), "no loss or metric columns");
    EXPECT(test_file_write_text(csv, "epoch,time,train/loss\n"));
    EXPECT_FAILS_WITH(results_plot(csv, png), "has no complete rows");
    if (plot_check_png(png, 2 * RESULTS_CELL_W + 2 * RESULTS_MARGIN, 2 * RESULTS_CELL_H + 2 * RESULTS_MARGIN, &img))
        image_free(&img);
    snprintf(csv, sizeof csv, "%s/missing.csv", dir);
    EXPECT_FAILS_WITH(results_plot(csv, png), "missing.csv");
    scratch_remove(dir);
}
