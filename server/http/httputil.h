/* Pure HTTP helpers (no libevent): %-decoding, query-string look-up, request-target path.
 * Unit-tested in tests/unit/server/test_httputil.c. */
#ifndef YMSGD_HTTPUTIL_H
#define YMSGD_HTTPUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Decodes n bytes of application/x-www-form-urlencoded text: %XX with either hex case, '+' as a
 * space.  A '%' not followed by two hex digits is kept literally.  Writes a NUL-terminated result;
 * returns its length, or -1 when it does not fit in cap or would contain a NUL byte. */
ssize_t http_pct_decode(const char *in, size_t n, char *out, size_t cap);

/* Finds parameter name in a query string ("a=1&b=2", no leading '?') and decodes its value into out.
 * Returns the value's length, -1 when absent, -2 when undecodable or too long for cap. */
ssize_t http_query_get(const char *query, const char *name, char *out, size_t cap);

/* The path of a request target in origin form ("/a/b?x") or absolute form
 * ("https://host:443/a/b?x"): copies "/a/b" into out.  Returns 0, or -1 when malformed / too long. */
int http_target_path(const char *target, char *out, size_t cap);

#endif
