#include "data/progress_bar.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void pb_size(double value, char *out, size_t cap) {
    static const char *const suffixes[] = {"", "k", "M", "G", "T", "P", "E", "Z"};
    size_t i = 0;
    // Move up a unit before rounding could show four digits ("1000k" reads worse than "0.98M").
    while (fabs(value) >= 999.5 && i + 1 < sizeof suffixes / sizeof *suffixes) {
        value /= 1024.0;
        i++;
    }
    if (i == 0) snprintf(out, cap, "%.0f", value); // bytes are whole
    else if (fabs(value) < 9.995) snprintf(out, cap, "%.2f%s", value, suffixes[i]);
    else if (fabs(value) < 99.95) snprintf(out, cap, "%.1f%s", value, suffixes[i]);
    else snprintf(out, cap, "%.0f%s", value, suffixes[i]);
}

void pb_clock(double seconds, char *out, size_t cap) {
    long s = seconds > 0 && seconds < 1e9 ? (long)(seconds + 0.5) : 0;
    if (s >= 3600) snprintf(out, cap, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else snprintf(out, cap, "%02ld:%02ld", s / 60, s % 60);
}

void pb_bar(double fraction, char *out, size_t cap) {
    // Eighths of a cell, as tqdm draws them on terminals that have the block characters.
    static const char *const partial[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
    enum { CELLS = 10 };
    if (!(fraction >= 0)) fraction = 0; // NaN too
    if (fraction > 1) fraction = 1;
    int eighths = (int)(fraction * CELLS * 8);
    int full = eighths / 8, part = eighths % 8;
    int o = snprintf(out, cap, "%3d%%|", (int)(fraction * 100));
    for (int c = 0; c < CELLS && o > 0 && (size_t)o < cap; c++) {
        const char *cell = c < full ? "█" : c == full ? (part ? partial[part] : " ") : " ";
        o += snprintf(out + o, cap - (size_t)o, "%s", cell);
    }
    if (o > 0 && (size_t)o < cap) snprintf(out + o, cap - (size_t)o, "|");
}

bool pb_interactive(void) { return isatty(STDERR_FILENO) != 0; }
