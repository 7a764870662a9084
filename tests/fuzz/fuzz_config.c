/* Fuzz the config loader: any bytes must give a config or a located error, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config *c = NULL;
    struct wh_error err = {0};
    if (config_load_text((const char *)data, size, "fuzz.json", &c, &err) == 0) {
        for (size_t i = 0; i < c->n_endpoints; i++)
            config_match(c, c->endpoints[i].path);
        config_match(c, "/x");
        config_destroy(c);
    } else if (err.msg[0] == '\0') {
        __builtin_trap(); /* every failure must say why */
    }
    return 0;
}
