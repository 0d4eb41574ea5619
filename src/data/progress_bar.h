// Text pieces of the download and unzip progress lines, in the look of tqdm's bars that
// Ultralytics prints ("45%|████▌     | 193k/433k [00:01<00:01, 1.20MB/s]").
#ifndef YOLO_DATA_PROGRESS_BAR_H
#define YOLO_DATA_PROGRESS_BAR_H

#include <stdbool.h>
#include <stddef.h>

// A size with three significant digits and a 1024-based suffix: "812", "9.50k", "433k", "1.20M".
void pb_size(double value, char *out, size_t cap);

// A duration as tqdm shows it: "00:07", "12:34", "1:02:03".
void pb_clock(double seconds, char *out, size_t cap);

// "45%|████▌     |": the percentage and a 10-cell bar of `fraction` (clamped to [0, 1]).
void pb_bar(double fraction, char *out, size_t cap);

// Whether stderr is a terminal, where lines are redrawn in place with '\r'. Elsewhere (CI logs,
// pipes) each report is a line of its own and reports are few.
bool pb_interactive(void);

#endif
