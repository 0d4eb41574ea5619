// Datasets from the network: a dataset YAML's `download:` URL, fetched with libcurl and unpacked
// (data/unzip.h) into the datasets directory, as Ultralytics' check_det_dataset does for coco8 and
// coco128 when the images are missing.
//
// Only http(s) URLs of .zip files are handled; Ultralytics also runs Python code or "bash ..."
// lines found there, which this program refuses with a message. The zip is written to
// "<datasets>/<stem>.zip.download-<pid>", unpacked through a temporary folder and deleted, so a
// failure of any kind (HTTP status, network, a bad zip, a full disk, SIGINT/SIGTERM) leaves the
// datasets directory as it was; files of killed processes are removed by the next download of the
// same dataset. Progress goes to stderr: a redrawn bar on a terminal, a few lines elsewhere.
#ifndef YOLO_DATA_DOWNLOAD_H
#define YOLO_DATA_DOWNLOAD_H

#include <stddef.h>

// Fetches and unpacks `spec` (the YAML's download: value) into datasets_dir (created if missing)
// and writes the new dataset folder to root_out. Returns 0 or -1 with a message that names the
// URL, what failed and what to do. SIGINT or SIGTERM during the download stops it, cleans up, and
// is then delivered to the handler that was in place before (the default one ends the process).
int dataset_download(const char *spec, const char *datasets_dir, char *root_out, size_t cap);

// Checks that `spec` is an http(s) URL of a .zip file and writes the zip's name without ".zip"
// (percent-decoded) to stem; else a message saying what is supported.
int download_zip_stem(const char *spec, char *stem, size_t cap);

// Fetches an http(s) URL into the file `dest` (created or truncated), following redirects.
// Transient failures (a dropped connection, a timeout, HTTP 408/429/5xx) are retried up to
// `attempts` times in all, waiting 1 s, 2 s, ... between tries. `shown_dest` names the file in
// messages and progress lines. On failure `dest` may hold a partial file: the caller removes it.
int download_fetch(const char *url, const char *dest, const char *shown_dest, int attempts);

#endif
