/* Helpers shared by the libymsg unit tests. */
#ifndef YMSG_TESTUTIL_H
#define YMSG_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ymsg/ymsg.h"

/* Parses hex (spaces, newlines and "|" ignored) into out; returns the byte count. */
static inline size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        int v;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            v = *p - 'A' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            assert_true(n < cap);
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    assert_int_equal(hi, -1);
    return n;
}

/* Decodes exactly one packet filling buf[0..len) and checks it consumed everything. */
static inline void decode_one(const uint8_t *buf, size_t len, struct ymsg_packet *pkt)
{
    size_t off = 0;
    ssize_t rc = ymsg_decode(buf, len, NULL, pkt, &off);
    assert_int_equal(rc, (ssize_t)len);
}

/* Asserts the n-th pair of pkt is key=val (val NUL-terminated). */
static inline void assert_pair(const struct ymsg_packet *pkt, size_t n, uint32_t key, const char *val)
{
    size_t pos = 0;
    struct ymsg_kv kv;
    for (size_t i = 0; i <= n; i++)
        assert_int_equal(ymsg_next(pkt, &pos, &kv), 1);
    assert_int_equal(kv.key, key);
    assert_int_equal(kv.len, strlen(val));
    assert_memory_equal(kv.val, val, kv.len);
}

#endif
