/* suites: where the shipped conformance suites are.
 *
 * In order: $WEBHOOKY_SUITES; next to the executable's share folder (PREFIX/bin/webhooky ->
 * PREFIX/share/webhooky/scenarios/conformance); the configured data folder;
 * /usr/share/webhooky (the Docker image); the source tree the binary was built from (for a
 * build directory). */
#ifndef WEBHOOKY_SUITES_H
#define WEBHOOKY_SUITES_H

#include <stddef.h>

/* Write the first folder that exists into dir; 0, or -ENOENT. argv0 is unused when
 * /proc/self/exe can be read. */
int suites_find_dir(const char *argv0, char *dir, size_t size);

#endif
