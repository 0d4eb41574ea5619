#include "io/config_dir.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/status.h"

// Both come from meson.build: the installed data folder (prefix/datadir/yolo) and the source
// tree's configs/.
#ifndef YOLO_INSTALLED_CONFIGS
#error "YOLO_INSTALLED_CONFIGS (prefix/datadir/yolo) is set by meson.build"
#endif
#ifndef YOLO_SOURCE_CONFIGS
#error "YOLO_SOURCE_CONFIGS (the source tree's configs/) is set by meson.build"
#endif

typedef enum { FROM_ENV, FROM_INSTALL, FROM_SOURCE } Origin;

static Origin origin(const char **dir) {
    const char *env = getenv("YOLO_CONFIG_DIR");
    if (env && env[0]) {
        *dir = env;
        return FROM_ENV;
    }
    // The models folder decides: an install always has it, and a bare data folder that another
    // package made is not ours.
    struct stat st;
    if (stat(YOLO_INSTALLED_CONFIGS "/models", &st) == 0 && S_ISDIR(st.st_mode)) {
        *dir = YOLO_INSTALLED_CONFIGS;
        return FROM_INSTALL;
    }
    *dir = YOLO_SOURCE_CONFIGS;
    return FROM_SOURCE;
}

const char *config_dir(void) {
    const char *dir;
    origin(&dir);
    return dir;
}

int config_subdir(const char *sub, char *out, size_t cap) {
    const char *dir = config_dir();
    if (snprintf(out, cap, "%s/%s", dir, sub) >= (int)cap)
        return yolo_fail("the config folder %.80s... is too long a path; set YOLO_CONFIG_DIR to a shorter one", dir);
    return 0;
}

const char *config_dir_origin(void) {
    const char *dir;
    static const char *const NAMES[] = {"YOLO_CONFIG_DIR", "installed", "source tree"};
    return NAMES[origin(&dir)];
}
