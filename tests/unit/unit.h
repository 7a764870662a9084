/* unit: helpers shared by the unit test executables (tests/unit only).
 *
 * Everything here is static inline so each test executable stays self-contained and
 * -Wmissing-prototypes has nothing to say. Not for use outside tests/unit. */
#ifndef WEBHOOKY_TESTS_UNIT_H
#define WEBHOOKY_TESTS_UNIT_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Run every test of the suite and turn the outcome into an exit status. */
static inline int unit_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* A fresh directory under /tmp; its path is written into dir (at least 64 bytes). */
static inline void unit_mkdtemp(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/webhooky-unit-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Remove a directory made by unit_mkdtemp and the plain files in it. */
static inline void unit_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    char path[1024];
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

#endif
