#include "data/download.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/status.h"
#include "data/progress_bar.h"
#include "data/unzip.h"
#include "yolo/version.h"

enum {
    DOWNLOAD_ATTEMPTS = 4,      // Ultralytics' safe_download: one try and three retries
    CONNECT_TIMEOUT_S = 30,
    STALL_TIMEOUT_S = 60,       // a transfer that moves no byte for this long is dropped (and retried)
    LOG_EVERY_S = 10,           // away from a terminal: one progress line this often
    TEXT_CAP = 1024,
    PATH_CAP = 4096,
};

// The last SIGINT/SIGTERM seen while a download runs (0: none).
static volatile sig_atomic_t download_signal;

static void on_signal(int sig) { download_signal = sig; }

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

// ---------------------------------------------------------------------------------------------
// URLs

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// The URL as messages show it: the query and fragment, where tokens live, are cut off.
static void shown_url(const char *url, char *out, size_t cap) {
    snprintf(out, cap, "%.*s", (int)strcspn(url, "?#"), url);
}

// The first line of `spec`, at most 60 characters, for messages about what is not a URL.
static void first_line(const char *spec, char *out, size_t cap) {
    while (isspace((unsigned char)*spec)) spec++;
    size_t n = strcspn(spec, "\r\n");
    bool cut = n > 60 || spec[n] != '\0';
    snprintf(out, cap, "%.*s%s", (int)(n > 60 ? 60 : n), spec, cut ? "..." : "");
}

int download_zip_stem(const char *spec, char *stem, size_t cap) {
    char line[96];
    first_line(spec, line, sizeof line);
    bool https = !strncasecmp(spec, "https://", 8);
    if (!https && strncasecmp(spec, "http://", 7) != 0) {
        const char *what = !strncmp(spec, "bash ", 5) ? "a bash command" : "Python code";
        return yolo_fail("`download: %s` is %s, which Ultralytics runs to fetch the dataset; this program only downloads "
                         "http(s) URLs of .zip files. Fetch the dataset as that code does and put it where the YAML's "
                         "`path:` points",
                         line, what);
    }
    for (const char *p = spec; *p; p++)
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
            return yolo_fail("`download: %s`: a URL has no spaces or line breaks; give one http(s) URL of a .zip file", line);
    // The last path segment, without the query or fragment.
    const char *host = spec + (https ? 8 : 7);
    size_t end = strcspn(host, "?#");
    const char *slash = NULL;
    for (const char *p = host; p < host + end; p++)
        if (*p == '/') slash = p;
    const char *name = slash ? slash + 1 : host + end;
    size_t len = (size_t)(host + end - name);
    if (len < 4 || strncasecmp(name + len - 4, ".zip", 4) != 0)
        return yolo_fail("`download: %s` is not a .zip file; this program unpacks zip archives only. Download and unpack "
                         "it yourself where the YAML's `path:` points",
                         line);
    size_t o = 0;
    for (size_t i = 0; i + 4 < len; i++) {
        char c = name[i];
        if (c == '%' && i + 2 < len - 4 && hex_value(name[i + 1]) >= 0 && hex_value(name[i + 2]) >= 0) {
            c = (char)(hex_value(name[i + 1]) * 16 + hex_value(name[i + 2]));
            i += 2;
        }
        if (c == '/' || iscntrl((unsigned char)c) || o + 1 >= cap)
            return yolo_fail("`download: %s`: the zip's name cannot name a dataset folder", line);
        stem[o++] = c;
    }
    stem[o] = '\0';
    if (o == 0 || !strcmp(stem, ".") || !strcmp(stem, ".."))
        return yolo_fail("`download: %s`: the zip's name cannot name a dataset folder", line);
    return 0;
}

// ---------------------------------------------------------------------------------------------
// Fetching

typedef struct {
    FILE *f;
    int write_errno;         // set when a write failed
    char space_message[TEXT_CAP]; // set when the disk is too small for the announced size
    const char *dir;         // where the file goes (for the free-space check)
    curl_off_t space_checked; // the size last checked (a redirect's own body comes first)
    bool tty;
    double start, last_report;
    char label[TEXT_CAP + PATH_CAP]; // "Downloading URL to 'datasets/coco8.zip'"
    curl_off_t now, total;
} Fetch;

static size_t on_data(char *data, size_t size, size_t n, void *user) {
    Fetch *f = user;
    size_t bytes = size * n;
    if (fwrite(data, 1, bytes, f->f) != bytes) {
        f->write_errno = errno ? errno : EIO;
        return 0; // libcurl stops with CURLE_WRITE_ERROR
    }
    return bytes;
}

static void report(Fetch *f, bool final) {
    double now = now_seconds(), elapsed = now - f->start;
    double rate = elapsed > 0 ? (double)f->now / elapsed : 0;
    char done[32], total[32], speed[32], spent[16], left[16], bar[64];
    pb_size((double)f->now, done, sizeof done);
    pb_size((double)f->total, total, sizeof total);
    pb_size(rate, speed, sizeof speed);
    pb_clock(elapsed, spent, sizeof spent);
    if (f->tty) { // redrawn in place; \033[K clears what a longer earlier line left
        if (f->total > 0) {
            pb_bar((double)f->now / (double)f->total, bar, sizeof bar);
            pb_clock(rate > 0 ? (double)(f->total - f->now) / rate : 0, left, sizeof left);
            fprintf(stderr, "\r%s: %s %s/%s [%s<%s, %sB/s]\033[K%s", f->label, bar, done, total, spent, left, speed,
                    final ? "\n" : "");
        } else {
            fprintf(stderr, "\r%s: %s [%s, %sB/s]\033[K%s", f->label, done, spent, speed, final ? "\n" : "");
        }
    } else if (final) {
        fprintf(stderr, "Downloaded %sB in %.1fs (%sB/s)\n", done, elapsed, speed);
    } else if (f->total > 0) {
        fprintf(stderr, "%s: %d%% (%sB of %sB, %sB/s)\n", f->label, (int)(100.0 * (double)f->now / (double)f->total),
                done, total, speed);
    } else {
        fprintf(stderr, "%s: %sB (%sB/s)\n", f->label, done, speed);
    }
    fflush(stderr);
    f->last_report = now;
}

// libcurl calls this often during a transfer (and about once a second when it stalls): progress,
// the free-space check once the size is known, and the way out on a signal.
static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)ultotal, (void)ulnow;
    Fetch *f = user;
    if (download_signal) return 1;
    f->now = dlnow;
    f->total = dltotal;
    if (dltotal > 0 && dltotal != f->space_checked) {
        f->space_checked = dltotal;
        // The zip and the files unpacked from it are on disk together, and images hardly compress:
        // about twice the zip's size is needed.
        if (disk_space_check(f->dir, 2ull * (unsigned long long)dltotal, "the zip and its unpacked files") != 0) {
            snprintf(f->space_message, sizeof f->space_message, "%s", yolo_error());
            yolo_error_clear();
            return 1;
        }
    }
    double since = now_seconds() - f->last_report;
    if (f->tty ? since >= 0.1 : since >= LOG_EVERY_S) report(f, false);
    return 0;
}

static const char *http_reason(long status) {
    switch (status) {
    case 400: return " Bad Request";
    case 401: return " Unauthorized";
    case 403: return " Forbidden";
    case 404: return " Not Found";
    case 408: return " Request Timeout";
    case 410: return " Gone";
    case 429: return " Too Many Requests";
    case 500: return " Internal Server Error";
    case 502: return " Bad Gateway";
    case 503: return " Service Unavailable";
    case 504: return " Gateway Timeout";
    default: return "";
    }
}

static bool transient(CURLcode code, long status) {
    switch (code) {
    case CURLE_HTTP_RETURNED_ERROR: return status == 408 || status == 429 || status >= 500;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return true;
    default: return false;
    }
}

// What went wrong with one try, in words, into out.
static void describe_failure(const Fetch *f, CURLcode code, long status, const char *errbuf, const char *shown_dest,
                             char *out, size_t cap) {
    if (code == CURLE_HTTP_RETURNED_ERROR)
        snprintf(out, cap, "the server answered HTTP %ld%s", status, http_reason(status));
    else if (code == CURLE_WRITE_ERROR && f->write_errno)
        snprintf(out, cap, "writing %s: %s%s", shown_dest, strerror(f->write_errno),
                 f->write_errno == ENOSPC || f->write_errno == EDQUOT ? " (the disk is full)" : "");
    else if (code == CURLE_ABORTED_BY_CALLBACK && f->space_message[0])
        snprintf(out, cap, "%s", f->space_message);
    else if (code == CURLE_ABORTED_BY_CALLBACK && download_signal)
        snprintf(out, cap, "interrupted by %s", download_signal == SIGTERM ? "SIGTERM" : "SIGINT");
    else
        snprintf(out, cap, "%s", errbuf[0] ? errbuf : curl_easy_strerror(code)); // errbuf has the details
}

// One try: the whole file from the start.
static CURLcode fetch_once(CURL *curl, Fetch *f, long *status, char *errbuf) {
    errbuf[0] = '\0';
    f->write_errno = 0;
    f->space_message[0] = '\0';
    f->space_checked = 0;
    f->now = f->total = 0;
    f->start = f->last_report = now_seconds();
    if (fflush(f->f) != 0 || ftruncate(fileno(f->f), 0) != 0) {
        f->write_errno = errno;
        return CURLE_WRITE_ERROR;
    }
    rewind(f->f);
    if (!f->tty) fprintf(stderr, "%s...\n", f->label);
    CURLcode code = curl_easy_perform(curl);
    *status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    if (code == CURLE_OK && fflush(f->f) != 0) {
        f->write_errno = errno;
        code = CURLE_WRITE_ERROR;
    }
    if (code == CURLE_OK) report(f, true);
    else if (f->tty && f->now > 0) fputc('\n', stderr); // end the bar line before the message
    return code;
}

static void setup(CURL *curl, const char *url, Fetch *f, char *errbuf) {
    curl_easy_setopt(curl, CURLOPT_URL, url);
    // Redirects are followed (GitHub release assets live behind one), to http(s) only: a server
    // cannot send the request to file:// or another protocol.
#if LIBCURL_VERSION_NUM >= 0x075500 // 7.85 named the options with strings and deprecated the bit masks
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L); // an error page is not the zip
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, (long)STALL_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); // no SIGALRM-based timeouts in a threaded program
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "yolo/" YOLO_VERSION);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, f);
}

// The folder part of a path ("." when there is none).
static void parent_of(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(out, cap, ".");
    else if (slash == path) snprintf(out, cap, "/");
    else snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

int download_fetch(const char *url, const char *dest, const char *shown_dest, int attempts) {
    char shown[TEXT_CAP], dir[PATH_CAP], errbuf[CURL_ERROR_SIZE], why[TEXT_CAP];
    shown_url(url, shown, sizeof shown);
    parent_of(dest, dir, sizeof dir);
    int fd = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    FILE *file = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!file) {
        int e = errno;
        if (fd >= 0) close(fd);
        return yolo_fail("cannot create %s to download %s into: %s", shown_dest, shown, strerror(e));
    }
    Fetch f = {.f = file, .dir = dir, .tty = pb_interactive()};
    snprintf(f.label, sizeof f.label, "Downloading %s to '%s'", shown, shown_dest);
    // Paired with the cleanup below (libcurl counts them), so TLS state is freed when done.
    CURL *curl = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? curl_easy_init() : NULL;
    if (!curl) {
        fclose(file);
        curl_global_cleanup();
        return yolo_fail("cannot start libcurl to download %s (out of memory?)", shown);
    }
    setup(curl, url, &f, errbuf);
    long status = 0;
    CURLcode code = CURLE_OK;
    for (int attempt = 1;; attempt++) {
        code = fetch_once(curl, &f, &status, errbuf);
        if (code == CURLE_OK || download_signal || attempt >= attempts || !transient(code, status)) break;
        describe_failure(&f, code, status, errbuf, shown_dest, why, sizeof why);
        fprintf(stderr, "warning: downloading %s failed (%s); retrying %d/%d in %ds\n", shown, why, attempt,
                attempts - 1, attempt);
        sleep((unsigned)attempt); // a signal ends the wait early; the next try then stops at once
    }
    if (code != CURLE_OK) describe_failure(&f, code, status, errbuf, shown_dest, why, sizeof why);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    if (fclose(file) != 0 && code == CURLE_OK) {
        code = CURLE_WRITE_ERROR;
        snprintf(why, sizeof why, "writing %s: %s", shown_dest, strerror(errno));
    }
    if (code != CURLE_OK) return yolo_fail("%s", why);
    return 0;
}

// ---------------------------------------------------------------------------------------------
// The whole step

// Removes "<stem>.zip.download-<pid>" files whose process no longer runs.
static void remove_stale_zips(const char *dir, const char *stem) {
    DIR *d = opendir(dir);
    if (!d) return;
    char prefix[PATH_CAP + 32], path[2 * PATH_CAP];
    snprintf(prefix, sizeof prefix, "%s.zip.download-", stem);
    size_t len = strlen(prefix);
    for (const struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, prefix, len) != 0) continue;
        char *end;
        long pid = strtol(e->d_name + len, &end, 10);
        if (end == e->d_name + len || *end != '\0' || pid <= 0 || pid > INT_MAX) continue;
        bool stale = pid == (long)getpid() || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
        if (stale && snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path) unlink(path);
    }
    closedir(d);
}

// Creates the datasets directory and its missing parents; *created says whether the directory
// itself is new (a failed download then removes it again).
static int make_dirs(const char *path, bool *created) {
    char buf[PATH_CAP];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return yolo_fail("path too long: %s", path);
    *created = false;
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        bool made = mkdir(buf, 0777) == 0;
        if (!made && errno != EEXIST) return yolo_fail("cannot create the datasets directory %s: %s", buf, strerror(errno));
        *p = saved;
        if (saved == '\0') {
            *created = made;
            return 0;
        }
    }
}

typedef struct {
    int sig;
    struct sigaction old;
    bool installed;
} Handler;

static void catch_signals(Handler h[2]) {
    download_signal = 0;
    struct sigaction on = {.sa_handler = on_signal};
    sigemptyset(&on.sa_mask);
    const int sigs[2] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        h[i] = (Handler){.sig = sigs[i]};
        // An ignored signal (nohup) stays ignored.
        if (sigaction(sigs[i], NULL, &h[i].old) == 0 && h[i].old.sa_handler != SIG_IGN)
            h[i].installed = sigaction(sigs[i], &on, NULL) == 0;
    }
}

static void release_signals(Handler h[2]) {
    for (int i = 0; i < 2; i++)
        if (h[i].installed) sigaction(h[i].sig, &h[i].old, NULL);
}

int dataset_download(const char *spec, const char *datasets_dir, char *root_out, size_t cap) {
    char stem[PATH_CAP / 2], shown[TEXT_CAP];
    TRY(download_zip_stem(spec, stem, sizeof stem));
    shown_url(spec, shown, sizeof shown);
    bool created;
    TRY(make_dirs(datasets_dir, &created));
    char zip_path[PATH_CAP], zip_shown[PATH_CAP];
    if (snprintf(zip_path, sizeof zip_path, "%s/%s.zip.download-%ld", datasets_dir, stem, (long)getpid()) >=
            (int)sizeof zip_path ||
        snprintf(zip_shown, sizeof zip_shown, "%s/%s.zip", datasets_dir, stem) >= (int)sizeof zip_shown)
        return yolo_fail("datasets directory %s: path too long", datasets_dir);
    remove_stale_zips(datasets_dir, stem);
    unzip_remove_stale(datasets_dir, stem);

    Handler handlers[2];
    catch_signals(handlers);
    double start = now_seconds();
    UnzipStats stats;
    int rc = download_fetch(spec, zip_path, zip_shown, DOWNLOAD_ATTEMPTS);
    bool fetched = rc == 0;
    if (fetched && !download_signal)
        rc = unzip_dataset(zip_path, zip_shown, datasets_dir, stem, &download_signal, stderr, root_out, cap, &stats);
    unlink(zip_path);
    if (rc != 0 && created) rmdir(datasets_dir); // as it was: absent
    release_signals(handlers);

    int sig = download_signal;
    if (sig && rc != 0) {
        yolo_error_clear();
        yolo_fail("downloading %s was interrupted by %s; nothing was left in %s. Run the command again to download it "
                  "afresh", shown, sig == SIGTERM ? "SIGTERM" : "SIGINT", datasets_dir);
        // The handler in place before decides what the signal does; the default one ends the
        // process here, so the message is printed first.
        struct sigaction now;
        if (sigaction(sig, NULL, &now) == 0 && now.sa_handler == SIG_DFL) fprintf(stderr, "yolo: %s\n", yolo_error());
        raise(sig);
        return -1;
    }
    if (rc != 0) {
        char why[TEXT_CAP];
        snprintf(why, sizeof why, "%s", yolo_error());
        yolo_error_clear();
        if (!fetched)
            return yolo_fail("downloading %s failed: %s. Nothing was left in %s. Check the URL and the network (behind a "
                             "proxy, set https_proxy), or download the zip yourself and unpack it into %s",
                             shown, why, datasets_dir, datasets_dir);
        return yolo_fail("unpacking the dataset downloaded from %s failed: %s. Nothing was unpacked into %s", shown, why,
                         datasets_dir);
    }
    fprintf(stderr, "Dataset download success (%.1fs), saved to %s\n", now_seconds() - start, root_out);
    if (sig) raise(sig); // it came as the last file was placed: the dataset is whole, the signal still counts
    return 0;
}
