/* MD5 (RFC 1321) behind the EVP and crypt_r shims (shim/openssl/evp.h, shim/crypt.h), for the
 * WebAssembly build of lib/ymsg/auth.c only.  Native builds use OpenSSL and libcrypt. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypt.h"
#include "openssl/evp.h"

struct evp_md_st {
    int id;                 /* only MD5 exists here */
};

struct evp_md_ctx_st {
    uint32_t h[4];          /* chaining state */
    uint64_t bytes;         /* message length so far */
    uint8_t block[64];      /* partial block */
    size_t used;            /* bytes in block */
};

static const uint32_t md5_k[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};
static const uint8_t md5_r[64] = {
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
    5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21,
    6, 10, 15, 21, 6, 10, 15, 21,
};

static void md5_block(uint32_t h[4], const uint8_t *p)
{
    uint32_t w[16], a = h[0], b = h[1], c = h[2], d = h[3];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
               (uint32_t)p[4 * i + 3] << 24;
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        if (i < 16) f = (b & c) | (~b & d), g = i;
        else if (i < 32) f = (d & b) | (~d & c), g = (5 * i + 1) & 15;
        else if (i < 48) f = b ^ c ^ d, g = (3 * i + 5) & 15;
        else f = c ^ (b | ~d), g = (7 * i) & 15;
        uint32_t t = d;
        d = c;
        c = b;
        uint32_t x = a + f + md5_k[i] + w[g];
        b = b + (x << md5_r[i] | x >> (32 - md5_r[i]));
        a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d;
}

static void md5_init(EVP_MD_CTX *c)
{
    memset(c, 0, sizeof *c);
    c->h[0] = 0x67452301, c->h[1] = 0xefcdab89, c->h[2] = 0x98badcfe, c->h[3] = 0x10325476;
}

static void md5_update(EVP_MD_CTX *c, const void *data, size_t n)
{
    const uint8_t *p = data;
    c->bytes += n;
    while (n) {
        size_t take = 64 - c->used < n ? 64 - c->used : n;
        memcpy(c->block + c->used, p, take);
        c->used += take, p += take, n -= take;
        if (c->used == 64) {
            md5_block(c->h, c->block);
            c->used = 0;
        }
    }
}

static void md5_final(EVP_MD_CTX *c, uint8_t out[16])
{
    uint64_t bits = c->bytes * 8;
    uint8_t pad[72] = {0x80};
    size_t padlen = (c->used < 56 ? 56 : 120) - c->used;
    for (int i = 0; i < 8; i++) pad[padlen + (size_t)i] = (uint8_t)(bits >> (8 * i));
    md5_update(c, pad, padlen + 8);
    for (int i = 0; i < 16; i++) out[i] = (uint8_t)(c->h[i / 4] >> (8 * (i % 4)));
}

const EVP_MD *EVP_md5(void)
{
    static const EVP_MD md5 = {5};
    return &md5;
}

EVP_MD_CTX *EVP_MD_CTX_new(void) { return calloc(1, sizeof(EVP_MD_CTX)); }
void EVP_MD_CTX_free(EVP_MD_CTX *ctx) { free(ctx); }

int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl)
{
    (void)impl;
    if (!ctx || type != EVP_md5()) return 0;
    md5_init(ctx);
    return 1;
}

int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t cnt)
{
    if (!ctx) return 0;
    md5_update(ctx, d, cnt);
    return 1;
}

int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s)
{
    if (!ctx) return 0;
    md5_final(ctx, md);
    if (s) *s = 16;
    return 1;
}

/* MD5-crypt, the FreeBSD "$1$" scheme as libxcrypt implements it (1000 rounds, 8-byte salt). */
static char *md5crypt_to64(char *s, uint32_t v, int n)
{
    static const char itoa64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    while (n-- > 0) *s++ = itoa64[v & 0x3f], v >>= 6;
    return s;
}

char *crypt_r(const char *phrase, const char *setting, struct crypt_data *data)
{
    if (!phrase || !setting || !data || strncmp(setting, "$1$", 3) != 0) return NULL;
    const char *salt = setting + 3;
    size_t sl = 0, pl = strlen(phrase);
    while (sl < 8 && salt[sl] && salt[sl] != '$') sl++;
    EVP_MD_CTX c, alt;
    uint8_t f[16];
    md5_init(&alt);
    md5_update(&alt, phrase, pl);
    md5_update(&alt, salt, sl);
    md5_update(&alt, phrase, pl);
    md5_final(&alt, f);
    md5_init(&c);
    md5_update(&c, phrase, pl);
    md5_update(&c, "$1$", 3);
    md5_update(&c, salt, sl);
    for (size_t n = pl; n > 0; n -= n > 16 ? 16 : n) md5_update(&c, f, n > 16 ? 16 : n);
    for (size_t i = pl; i; i >>= 1) md5_update(&c, (i & 1) ? "" : phrase, 1);
    md5_final(&c, f);
    for (int i = 0; i < 1000; i++) {
        md5_init(&c);
        if (i & 1) md5_update(&c, phrase, pl);
        else md5_update(&c, f, 16);
        if (i % 3) md5_update(&c, salt, sl);
        if (i % 7) md5_update(&c, phrase, pl);
        if (i & 1) md5_update(&c, f, 16);
        else md5_update(&c, phrase, pl);
        md5_final(&c, f);
    }
    char *o = data->output;
    memcpy(o, "$1$", 3);
    memcpy(o + 3, salt, sl);
    o += 3 + sl;
    *o++ = '$';
    static const int idx[5][3] = {{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}};
    for (int i = 0; i < 5; i++)
        o = md5crypt_to64(o, (uint32_t)f[idx[i][0]] << 16 | (uint32_t)f[idx[i][1]] << 8 | f[idx[i][2]], 4);
    o = md5crypt_to64(o, f[11], 2);
    *o = 0;
    return data->output;
}
