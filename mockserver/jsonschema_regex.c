#define PCRE2_CODE_UNIT_WIDTH 8
#include "jsonschema_regex.h"

#include <errno.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "regex.h"

struct jsonschema_regex {
    pcre2_code *code;          /* what is matched: the pattern, or its anchored wrapper */
    pcre2_match_context *mctx; /* the limits; read-only once made */
    char *source;              /* the pattern as written */
};

static const uint32_t compile_options = PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_ALLOW_EMPTY_CLASS |
                                        PCRE2_ALT_BSUX | PCRE2_MATCH_UNSET_BACKREF |
                                        PCRE2_NEVER_BACKSLASH_C;

static pcre2_code *compile(const char *pattern, size_t len, uint32_t extra, int *ret_code,
                           PCRE2_SIZE *ret_offset)
{
    pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
    if (!cctx) {
        *ret_code = PCRE2_ERROR_NOMEMORY;
        *ret_offset = 0;
        return NULL;
    }
    /* ECMA-262 line terminators: '.' does not match \n, \r, U+2028, U+2029 */
    pcre2_set_newline(cctx, PCRE2_NEWLINE_ANY);
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, len, compile_options | extra, ret_code,
                                     ret_offset, cctx);
    pcre2_compile_context_free(cctx);
    return code;
}

bool jsonschema_regex_valid(const char *pattern, size_t len)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *c = compile(pattern, len, 0, &code, &off);
    pcre2_code_free(c);
    return c != NULL;
}

/* The same search as an anchored match, so the match limit covers all start positions. NULL
 * when the pattern cannot be wrapped (a leading (*VERB), or a wrapper that does not compile,
 * e.g. after a trailing (?x) comment); the plain pattern is used then. */
static pcre2_code *wrap(const char *pattern, size_t len)
{
    static const char head[] = "(?s:.*?)(?:";
    static const char tail[] = "\\E)"; /* \E: an unterminated \Q must not swallow the ')' */
    if (len >= 2 && pattern[0] == '(' && pattern[1] == '*')
        return NULL;
    size_t n = sizeof(head) - 1 + len + sizeof(tail) - 1;
    char *w = malloc(n);
    if (!w)
        return NULL;
    memcpy(w, head, sizeof(head) - 1);
    memcpy(w + sizeof(head) - 1, pattern, len);
    memcpy(w + sizeof(head) - 1 + len, tail, sizeof(tail) - 1);
    int code;
    PCRE2_SIZE off;
    pcre2_code *c = compile(w, n, PCRE2_ANCHORED, &code, &off);
    free(w);
    return c;
}

int jsonschema_regex_compile(const char *pattern, size_t len, uint32_t match_limit,
                             struct jsonschema_regex **ret, struct wh_error *err)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *plain = compile(pattern, len, 0, &code, &off);
    if (!plain)
        return regex_compile_error(err, code, (size_t)off);
    struct jsonschema_regex *re = calloc(1, sizeof(*re));
    if (!re) {
        pcre2_code_free(plain);
        return wh_error_set(err, -ENOMEM, "out of memory");
    }
    re->source = malloc(len + 1);
    re->mctx = pcre2_match_context_create(NULL);
    if (!re->source || !re->mctx) {
        pcre2_code_free(plain);
        jsonschema_regex_destroy(re);
        return wh_error_set(err, -ENOMEM, "out of memory");
    }
    memcpy(re->source, pattern, len);
    re->source[len] = '\0';

    uint32_t opts = 0;
    pcre2_pattern_info(plain, PCRE2_INFO_ALLOPTIONS, &opts);
    pcre2_code *wrapped = (opts & PCRE2_ANCHORED) ? NULL : wrap(pattern, len);
    if (wrapped) {
        pcre2_code_free(plain);
        re->code = wrapped;
    } else {
        re->code = plain;
    }
    pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE); /* optional: without JIT it interprets */
    pcre2_set_match_limit(re->mctx, match_limit ? match_limit : JSONSCHEMA_REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(re->mctx, match_limit ? match_limit : JSONSCHEMA_REGEX_MATCH_LIMIT);
    pcre2_set_heap_limit(re->mctx, JSONSCHEMA_REGEX_HEAP_LIMIT_KIB);
    *ret = re;
    return 0;
}

void jsonschema_regex_destroy(struct jsonschema_regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    pcre2_match_context_free(re->mctx);
    free(re->source);
    free(re);
}

const char *jsonschema_regex_source(const struct jsonschema_regex *re)
{
    return re->source;
}

int jsonschema_regex_match(const struct jsonschema_regex *re, const char *s, size_t len,
                           void **scratch)
{
    if (!*scratch) {
        *scratch = pcre2_match_data_create(1, NULL);
        if (!*scratch)
            return -ENOMEM;
    }
    pcre2_match_data *md = *scratch;
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, PCRE2_NO_UTF_CHECK, md, re->mctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* the interpreter keeps its frames on the heap */
        rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md,
                         re->mctx);
    if (rc >= 0) /* 0: matched, the ovector was too small for the groups */
        return 1;
    switch (rc) {
    case PCRE2_ERROR_NOMATCH:
        return 0;
    case PCRE2_ERROR_MATCHLIMIT:
    case PCRE2_ERROR_DEPTHLIMIT:
    case PCRE2_ERROR_HEAPLIMIT:
    case PCRE2_ERROR_JIT_STACKLIMIT:
        return -E2BIG;
    case PCRE2_ERROR_NOMEMORY:
        return -ENOMEM;
    default:
        return -EINVAL;
    }
}

void jsonschema_regex_scratch_free(void *scratch)
{
    pcre2_match_data_free(scratch);
}
