/* Fuzz the position finder: the first line of the input is a JSON pointer, the rest the text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpos.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t)(nl - data) : size;
    char *ptr = malloc(plen + 1);
    if (!ptr)
        return 0;
    memcpy(ptr, data, plen);
    ptr[plen] = '\0';
    const char *text = nl ? (const char *)nl + 1 : "";
    size_t tlen = nl ? size - plen - 1 : 0;
    int line, col;
    if (jsonpos_find(text, tlen, ptr, &line, &col) == 0 && (line < 1 || col < 1))
        __builtin_trap();
    struct buf b;
    buf_init(&b, 0);
    jsonpos_pointer_to_path(&b, ptr);
    buf_finish(&b);
    free(ptr);
    return 0;
}
