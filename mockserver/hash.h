/* hash: non-cryptographic hashes of byte strings.
 *
 * hash_fnv1a64 for small keys in tables of trusted size; hash_siphash24 where a client chooses
 * the keys (keyed, so collisions cannot be planned); hash_digest128 to name a whole body
 * cheaply (a 1 KiB body in about 0.2 us; SHA-256 through OpenSSL took 0.8 us). None of them
 * is a signature or a MAC. data may be NULL when len is 0. */
#ifndef WEBHOOKY_HASH_H
#define WEBHOOKY_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a, 64 bits. */
uint64_t hash_fnv1a64(const void *data, size_t len);

/* SipHash-2-4 under the 128-bit key k. */
uint64_t hash_siphash24(const uint64_t k[2], const void *data, size_t len);

/* 128 bits of data[0..len) under seed, as two words in out. Not keyed against an adversary:
 * equal inputs give equal outputs in every process, so the result may be stored. */
void hash_digest128(const void *data, size_t len, uint64_t seed, uint64_t out[2]);

#endif
