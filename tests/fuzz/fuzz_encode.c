/* Fuzz the encoders that show captured bytes: terminal escaping must never let a control byte
 * through, JSON strings must be valid UTF-8, base64 must have the right length, markup (XML and
 * HTML) must hold no raw markup character and nothing XML 1.0 forbids. */
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
    for (int attr = 0; attr < 2; attr++) {
        buf_reset(&b);
        if (encode_markup(&b, data, size, attr) != 0)
            continue;
        if (!encode_utf8_valid(b.data, b.len))
            __builtin_trap();
        for (size_t i = 0; i < b.len; i++) {
            unsigned char c = (unsigned char)b.data[i];
            if (c == '<' || c == '>' || c == '"' || c == '\'' || c == '\r' || c == 0x7F ||
                (c < 0x20 && c != '\n' && c != '\t') || (attr && (c == '\n' || c == '\t')))
                __builtin_trap();
            if (c == '&' &&
                !(strncmp(b.data + i, "&amp;", 5) == 0 || strncmp(b.data + i, "&lt;", 4) == 0 ||
                  strncmp(b.data + i, "&gt;", 4) == 0 || strncmp(b.data + i, "&quot;", 6) == 0 ||
                  strncmp(b.data + i, "&#", 2) == 0))
                __builtin_trap();
            /* C1 controls (C2 80..C2 9F) are replaced too */
            if (c == 0xC2 && i + 1 < b.len && (unsigned char)b.data[i + 1] < 0xA0)
                __builtin_trap();
            /* U+FFFE and U+FFFF (EF BF BE, EF BF BF) are not XML characters */
            if (c == 0xEF && i + 2 < b.len && (unsigned char)b.data[i + 1] == 0xBF &&
                (unsigned char)b.data[i + 2] >= 0xBE)
                __builtin_trap();
        }
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
