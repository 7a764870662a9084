/* Fuzz the replay API's request body ({"url": ...}) and the URL check it applies. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = NULL;
    struct wh_error err = {0};
    int r = replay_parse_request(data, size, &url, &err);
    if (r < 0) {
        if (url || err.msg[0] == '\0')
            __builtin_trap();
        return 0;
    }
    /* what was accepted passes the check on its own, and is an http(s) URL */
    struct wh_error again = {0};
    if (!url || replay_check_url(url, &again) < 0 ||
        (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0))
        __builtin_trap();
    free(url);
    return 0;
}
