/* Auth primitives (§5): Yahoo's base64 ("Y64"), the v16 token response and the YMSG 9/10 "method 0"
 * challenge responses.  MD5 comes from OpenSSL's EVP interface, md5crypt from libcrypt's crypt_r(). */
#include <crypt.h>
#include <openssl/evp.h>
#include <string.h>

#include "ymsg/ymsg.h"

static const char y64_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";

ssize_t ymsg_y64_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
    if ((!in && n) || !out)
        return YMSG_EINVAL;
    if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
        return YMSG_ENOSPC;
    size_t need = (n + 2) / 3 * 4;
    if (cap < need + 1)
        return YMSG_ENOSPC;
    char *w = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *w++ = y64_alpha[v >> 18];
        *w++ = y64_alpha[(v >> 12) & 63];
        *w++ = y64_alpha[(v >> 6) & 63];
        *w++ = y64_alpha[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *w++ = y64_alpha[v >> 18];
        *w++ = y64_alpha[(v >> 12) & 63];
        *w++ = '-';
        *w++ = '-';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *w++ = y64_alpha[v >> 18];
        *w++ = y64_alpha[(v >> 12) & 63];
        *w++ = y64_alpha[(v >> 6) & 63];
        *w++ = '-';
    }
    *w = '\0';
    return (ssize_t)need;
}

static int y64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '.')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Accepts padded ("-") and unpadded input; padding only at the end; rejects any other character. */
ssize_t ymsg_y64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
    if (!in && n)
        return YMSG_EINVAL;
    size_t data = n;
    if (n % 4 == 0 && n) {
        if (in[n - 1] == '-')
            data--;
        if (in[n - 2] == '-')
            data--;
    }
    if (data % 4 == 1)
        return YMSG_EINVAL;
    size_t outlen = data / 4 * 3 + (data % 4 ? data % 4 - 1 : 0);
    if (outlen > cap || (outlen && !out))
        return YMSG_ENOSPC;
    uint32_t acc = 0;
    size_t bits = 0, w = 0;
    for (size_t i = 0; i < data; i++) {
        int v = y64_val((unsigned char)in[i]);
        if (v < 0)
            return YMSG_EINVAL;
        acc = (acc << 6 | (uint32_t)v) & 0xFFFFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[w++] = (uint8_t)(acc >> bits);
        }
    }
    return (ssize_t)w;
}

/* MD5 of the concatenation of up to four strings, as Y64 (24 chars + NUL). */
static int md5_y64(const char *parts[], size_t nparts, char out[25])
{
    uint8_t dig[16];
    unsigned dlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
    for (size_t i = 0; ok && i < nparts; i++)
        ok = EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]));
    ok = ok && EVP_DigestFinal_ex(ctx, dig, &dlen) && dlen == 16;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return YMSG_ECRYPTO;
    return ymsg_y64_encode(dig, 16, out, 25) == 24 ? 0 : YMSG_ECRYPTO;
}

int ymsg_auth16_response(const char *crumb, const char *challenge, char out[25])
{
    if (!crumb || !challenge || !out)
        return YMSG_EINVAL;
    const char *parts[] = {crumb, challenge};
    return md5_y64(parts, 2, out);
}

int ymsg_auth_method0_hashes(const char *password, char p[25], char c[25])
{
    if (!password || !p || !c)
        return YMSG_EINVAL;
    const char *pp[] = {password};
    int rc = md5_y64(pp, 1, p);
    if (rc)
        return rc;
    /* crypt_r() rather than crypt(): reentrant, no hidden static state.  struct crypt_data is ~32 KiB
     * of stack, which is fine for the callers (server worker, CLI) and avoids a heap allocation. */
    struct crypt_data cd;
    memset(&cd, 0, sizeof cd);
    const char *h = crypt_r(password, "$1$_2S43d5f$", &cd);
    if (!h || h[0] != '$') /* libxcrypt returns "*0"-style failure tokens */
        return YMSG_ECRYPTO;
    const char *cp[] = {h};
    rc = md5_y64(cp, 1, c);
    memset(&cd, 0, sizeof cd); /* the password passed through it */
    return rc;
}

int ymsg_auth_method0_from_hashes(const char *user, const char *p, const char *c, const char *challenge,
                                  char resp6[25], char resp96[25])
{
    if (!user || !p || !c || !challenge || !resp6 || !resp96)
        return YMSG_EINVAL;
    const unsigned char *ch = (const unsigned char *)challenge;
    if (strlen(challenge) < 16)
        return YMSG_EINVAL;
    /* §5.3: challenge[15] selects one of five orders; ESC's extra "% 5" maps 5..7 onto 0..2. */
    char ck[2] = {0, 0};
    int rc;
    switch ((ch[15] % 8) % 5) {
    case 0: {
        ck[0] = (char)ch[ch[7] % 16];
        const char *a[] = {ck, p, user, challenge}, *b[] = {ck, c, user, challenge};
        rc = md5_y64(a, 4, resp6);
        if (!rc)
            rc = md5_y64(b, 4, resp96);
        break;
    }
    case 1: {
        ck[0] = (char)ch[ch[9] % 16];
        const char *a[] = {ck, user, challenge, p}, *b[] = {ck, user, challenge, c};
        rc = md5_y64(a, 4, resp6);
        if (!rc)
            rc = md5_y64(b, 4, resp96);
        break;
    }
    case 2: {
        ck[0] = (char)ch[ch[15] % 16];
        const char *a[] = {ck, challenge, p, user}, *b[] = {ck, challenge, c, user};
        rc = md5_y64(a, 4, resp6);
        if (!rc)
            rc = md5_y64(b, 4, resp96);
        break;
    }
    case 3: {
        ck[0] = (char)ch[ch[1] % 16];
        const char *a[] = {ck, user, p, challenge}, *b[] = {ck, user, c, challenge};
        rc = md5_y64(a, 4, resp6);
        if (!rc)
            rc = md5_y64(b, 4, resp96);
        break;
    }
    default: {
        ck[0] = (char)ch[ch[3] % 16];
        const char *a[] = {ck, p, challenge, user}, *b[] = {ck, c, challenge, user};
        rc = md5_y64(a, 4, resp6);
        if (!rc)
            rc = md5_y64(b, 4, resp96);
        break;
    }
    }
    return rc;
}

int ymsg_auth_method0(const char *user, const char *password, const char *challenge, char resp6[25],
                      char resp96[25])
{
    if (!user || !password || !challenge || !resp6 || !resp96)
        return YMSG_EINVAL;
    if (strlen(challenge) < 16)
        return YMSG_EINVAL;
    char p[25], c[25];
    int rc = ymsg_auth_method0_hashes(password, p, c);
    if (!rc)
        rc = ymsg_auth_method0_from_hashes(user, p, c, challenge, resp6, resp96);
    memset(p, 0, sizeof p);
    memset(c, 0, sizeof c);
    return rc;
}

int ymsg_ct_streq(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    /* Time depends only on the lengths, never on where the strings differ. */
    size_t la = strlen(a), lb = strlen(b), n = la > lb ? la : lb;
    volatile unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < la ? (unsigned char)a[i] : 0;
        unsigned char y = i < lb ? (unsigned char)b[i] : 0;
        diff |= (unsigned char)(x ^ y);
    }
    return diff == 0;
}
