/* Fuzz the scenario loader: any bytes must give a scenario or a located error, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scenarios/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scenario *s = NULL;
    struct wh_error err = {0};
    if (scenario_load_text((const char *)data, size, "fuzz.json", NULL, &s, &err) == 0) {
        for (size_t i = 0; i < s->n_steps; i++)
            if (!s->steps[i].label || !step_kind_name(s->steps[i].kind))
                __builtin_trap();
        scenario_destroy(s);
    } else if (err.msg[0] == '\0') {
        __builtin_trap(); /* every failure must say why */
    }
    return 0;
}
