#include "hash.h"

#include <string.h>

uint64_t hash_fnv1a64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull; /* the offset basis */
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

/* little-endian 64-bit load of p[0..n), n <= 8 */
static uint64_t load_le(const unsigned char *p, size_t n)
{
    uint64_t m = 0;
    for (size_t j = 0; j < n; j++)
        m |= (uint64_t)p[j] << (8 * j);
    return m;
}

/* What an empty input points at, so that no offset is ever added to a null pointer. */
static const unsigned char no_bytes[1];

uint64_t hash_siphash24(const uint64_t k[2], const void *data, size_t len)
{
    const unsigned char *p = len ? data : no_bytes;
    uint64_t v0 = 0x736f6d6570736575ull ^ k[0], v1 = 0x646f72616e646f6dull ^ k[1];
    uint64_t v2 = 0x6c7967656e657261ull ^ k[0], v3 = 0x7465646279746573ull ^ k[1];
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t m = load_le(p + i, 8);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = ((uint64_t)len << 56) | load_le(p + i, len - i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

__extension__ typedef unsigned __int128 u128;

/* The folded 128-bit product: every input bit reaches many output bits. */
static uint64_t mum(uint64_t a, uint64_t b)
{
    u128 r = (u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static uint64_t read64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* Odd constants with about half their bits set (from the digits of pi). */
static const uint64_t K[6] = {0x243f6a8885a308d3ull, 0x13198a2e03707345ull,
                              0xa4093822299f31d1ull, 0x082efa98ec4e6c89ull,
                              0x452821e638d01377ull, 0xbe5466cf34e90c6dull};

void hash_digest128(const void *data, size_t len, uint64_t seed, uint64_t out[2])
{
    const unsigned char *p = len ? data : no_bytes;
    /* two lanes over every 16-byte block, each chained on its own state: 128 bits out, and
     * the two multiplications per block run side by side */
    uint64_t a = seed ^ K[0], b = ~seed ^ K[1];
    size_t i = 0;
    for (; i + 16 <= len; i += 16) {
        uint64_t x = read64(p + i), y = read64(p + i + 8);
        a ^= mum(x ^ K[2], y ^ a);
        b ^= mum(y ^ K[3], x ^ b);
    }
    uint64_t x = load_le(p + i, len - i < 8 ? len - i : 8);
    uint64_t y = len - i > 8 ? load_le(p + i + 8, len - i - 8) : 0;
    a ^= mum(x ^ K[2], y ^ a);
    b ^= mum(y ^ K[3], x ^ b);
    out[0] = mum(a ^ K[4], (uint64_t)len ^ b);
    out[1] = mum(b ^ K[5], (uint64_t)len ^ a ^ K[0]);
}
