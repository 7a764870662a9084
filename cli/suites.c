#include "suites.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/paths.h"

static int try_dir(const char *d, char *dir, size_t size)
{
    struct stat st;
    if (!d || !*d || stat(d, &st) < 0 || !S_ISDIR(st.st_mode))
        return -ENOENT;
    snprintf(dir, size, "%s", d);
    return 0;
}

int suites_find_dir(const char *argv0, char *dir, size_t size)
{
    (void)argv0;
    if (try_dir(getenv("WEBHOOKY_SUITES"), dir, size) == 0)
        return 0;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            char cand[PATH_MAX + 64];
            snprintf(cand, sizeof(cand), "%s/../share/webhooky/scenarios/conformance", exe);
            if (try_dir(cand, dir, size) == 0)
                return 0;
        }
    }
    if (try_dir(WEBHOOKY_DATADIR "/scenarios/conformance", dir, size) == 0 ||
        try_dir("/usr/share/webhooky/scenarios/conformance", dir, size) == 0)
        return 0;
    return try_dir(WEBHOOKY_SOURCE_DIR "/scenarios/conformance", dir, size);
}
