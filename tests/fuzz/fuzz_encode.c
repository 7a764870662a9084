/* Fuzz the encoders that show captured bytes: terminal escaping must never let a control byte
 * through, JSON strings must be valid UTF-8, base64 must have the right length. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "encode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf b;
    buf_init(&b, 0);
    if (encode_terminal(&b, data, size, false) == 0) {
        for (size_t i = 0; i < b.len; i++) {
            unsigned char c = (unsigned char)b.data[i];
            if (c < 0x20 || c == 0x7F)
                __builtin_trap();
        }
        if (!encode_utf8_valid(b.data, b.len))
            __builtin_trap();
    }
    buf_reset(&b);
    if (encode_base64(&b, data, size) == 0 && b.len != (size + 2) / 3 * 4)
        __builtin_trap();
    buf_finish(&b);
    json_t *s = encode_json_string(data, size);
    if (!s || !encode_utf8_valid(json_string_value(s), json_string_length(s)))
        __builtin_trap();
    json_decref(s);
    encode_utf8_valid(data, size);
    return 0;
}
