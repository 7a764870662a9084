#include "regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"

#define MATCH_LIMIT 1000000u
#define HEAP_LIMIT_KIB 16384u

struct regex {
    pcre2_code *code;
    char *source;
};

static const uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C;

static pcre2_code *compile(const char *pattern, size_t len, uint32_t extra, int *ret_code,
                           PCRE2_SIZE *ret_offset)
{
    return pcre2_compile((PCRE2_SPTR)pattern, len, options | extra, ret_code, ret_offset, NULL);
}

int regex_compile_error(struct wh_error *err, int pcre2_code, size_t offset)
{
    if (pcre2_code == PCRE2_ERROR_NOMEMORY)
        return wh_error_set(err, -ENOMEM, "out of memory");
    PCRE2_UCHAR why[160];
    if (pcre2_get_error_message(pcre2_code, why, sizeof(why)) < 0)
        why[0] = '\0';
    return wh_error_set(err, -EINVAL, "invalid regular expression at offset %zu: %s", offset,
                        (const char *)why);
}

/* A pattern that is not anchored is compiled as the anchored search "(?s:.*?)(?:PATTERN\E)",
 * so the match limit bounds the whole search rather than each start position; the plain
 * pattern is kept when that wrapper does not compile. */
int regex_compile(const char *pattern, size_t len, regex **ret, struct wh_error *err)
{
    if (memchr(pattern, '\0', len))
        return wh_error_set(err, -EINVAL, "invalid regular expression at offset %zu: a NUL byte",
                            (size_t)((const char *)memchr(pattern, '\0', len) - pattern));
    int code;
    PCRE2_SIZE off;
    pcre2_code *plain = compile(pattern, len, 0, &code, &off);
    if (!plain)
        return regex_compile_error(err, code, (size_t)off);
    uint32_t opts = 0;
    pcre2_pattern_info(plain, PCRE2_INFO_ALLOPTIONS, &opts);
    if (!(opts & PCRE2_ANCHORED) && !(len >= 2 && pattern[0] == '(' && pattern[1] == '*')) {
        static const char head[] = "(?s:.*?)(?:";
        static const char tail[] = "\\E)";
        size_t n = sizeof(head) - 1 + len + sizeof(tail) - 1;
        char *w = malloc(n);
        if (w) {
            memcpy(w, head, sizeof(head) - 1);
            memcpy(w + sizeof(head) - 1, pattern, len);
            memcpy(w + sizeof(head) - 1 + len, tail, sizeof(tail) - 1);
            pcre2_code *wrapped = compile(w, n, PCRE2_ANCHORED, &code, &off);
            free(w);
            if (wrapped) {
                pcre2_code_free(plain);
                plain = wrapped;
            }
        }
    }
    pcre2_jit_compile(plain, PCRE2_JIT_COMPLETE); /* optional: without JIT it interprets */
    regex *re = malloc(sizeof(*re));
    char *src = malloc(len + 1);
    if (!re || !src) {
        free(re);
        free(src);
        pcre2_code_free(plain);
        return wh_error_set(err, -ENOMEM, "out of memory");
    }
    memcpy(src, pattern, len);
    src[len] = '\0';
    re->code = plain;
    re->source = src;
    *ret = re;
    return 0;
}

void regex_destroy(regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    free(re->source);
    free(re);
}

const char *regex_source(const regex *re)
{
    return re->source;
}

static bool try_at(const regex *re, const char *s, size_t len, size_t start,
                   pcre2_match_data *md, pcre2_match_context *mc)
{
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, start, 0, md, mc);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* the interpreter keeps its frames on the heap */
        rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, start, PCRE2_NO_JIT, md, mc);
    return rc >= 0; /* a limit or any other error: no match */
}

/* Under PCRE2_MATCH_INVALID_UTF a match never spans an invalid UTF-8 sequence, so an anchored
 * search (the "(?s:.*?)" wrapper, or a pattern anchored by itself) is tried at the start and
 * after each invalid stretch; the match limit is shared out among those tries so the whole
 * search stays bounded. */
bool regex_search(const regex *re, const char *s, size_t len)
{
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    if (!md || !mc) {
        pcre2_match_data_free(md);
        pcre2_match_context_free(mc);
        return false;
    }
    pcre2_set_depth_limit(mc, MATCH_LIMIT);
    pcre2_set_heap_limit(mc, HEAP_LIMIT_KIB);
    uint32_t opts = 0;
    pcre2_pattern_info(re->code, PCRE2_INFO_ALLOPTIONS, &opts);
    size_t starts = 1;
    bool valid = true;
    for (size_t i = 0; i < len;) {
        size_t k = encode_utf8_seq(s + i, len - i);
        if (k && !valid)
            starts++;
        valid = k != 0;
        i += k ? k : 1;
    }
    bool hit;
    if (starts == 1 || !(opts & PCRE2_ANCHORED)) {
        pcre2_set_match_limit(mc, MATCH_LIMIT);
        hit = try_at(re, s, len, 0, md, mc);
    } else {
        pcre2_set_match_limit(mc, MATCH_LIMIT / (uint32_t)(starts < 1000 ? starts : 1000));
        hit = try_at(re, s, len, 0, md, mc);
        valid = true;
        for (size_t i = 0; i < len && !hit;) {
            size_t k = encode_utf8_seq(s + i, len - i);
            if (k && !valid)
                hit = try_at(re, s, len, i, md, mc);
            valid = k != 0;
            i += k ? k : 1;
        }
    }
    pcre2_match_data_free(md);
    pcre2_match_context_free(mc);
    return hit;
}
