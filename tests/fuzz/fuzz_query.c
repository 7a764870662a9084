/* Fuzz the API's query arguments: "key=value" lines into filter_set_arg and filter_parse_int. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct delivery_filter f;
    filter_init(&f);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n&", &save); line; line = strtok_r(NULL, "\n&", &save)) {
        char *eq = strchr(line, '=');
        if (eq)
            *eq = '\0';
        struct wh_error err = {0};
        int r = filter_set_arg(&f, line, eq ? eq + 1 : NULL, &err);
        if (r < 0 && err.msg[0] == '\0')
            __builtin_trap();
        int64_t v;
        filter_parse_int(line, INT64_MIN, INT64_MAX, &v);
    }
    if (f.limit < 0 || f.limit > FILTER_MAX_LIMIT || f.since_id < 0)
        __builtin_trap();
    free(text);
    return 0;
}
