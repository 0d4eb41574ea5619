// The chart library: ticks and their labels, pixels of drawn lines where the data puts them, and
// its errors.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot/chart.h"
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
