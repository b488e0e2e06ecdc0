/* Unit tests for server/httputil.c: %-decoding, query look-up, request-target paths, request framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "httputil.h"

static void test_pct_decode(void **state)
{
    char out[64];
    (void)state;
    assert_int_equal(http_pct_decode("a%2Db%2dc", 9, out, sizeof out), 5);
    assert_string_equal(out, "a-b-c");
    assert_int_equal(http_pct_decode("p%2Bw+d%25", 10, out, sizeof out), 6);
    assert_string_equal(out, "p+w d%");
    assert_int_equal(http_pct_decode("%zz%4", 5, out, sizeof out), 5); /* not hex: kept literally */
    assert_string_equal(out, "%zz%4");
    assert_int_equal(http_pct_decode("%c3%A9", 6, out, sizeof out), 2);
    assert_string_equal(out, "\xc3\xa9");
    assert_int_equal(http_pct_decode("a%00b", 5, out, sizeof out), -1); /* embedded NUL refused */
    assert_int_equal(http_pct_decode("abcdef", 6, out, 4), -1);       /* does not fit */
    assert_int_equal(http_pct_decode("", 0, out, 1), 0);
}

static void test_query_get(void **state)
{
    char out[32];
    (void)state;
    const char *q = "src=ymsgr&ts=&login=Alice&passwd=p%2Bw&chal=x%2a%2D";
    assert_int_equal(http_query_get(q, "login", out, sizeof out), 5);
    assert_string_equal(out, "Alice");
    assert_int_equal(http_query_get(q, "ts", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(http_query_get(q, "passwd", out, sizeof out), 3);
    assert_string_equal(out, "p+w");
    assert_int_equal(http_query_get(q, "chal", out, sizeof out), 3);
    assert_string_equal(out, "x*-");
    assert_int_equal(http_query_get(q, "pass", out, sizeof out), -1);   /* prefix is not a match */
    assert_int_equal(http_query_get(q, "token", out, sizeof out), -1);
    assert_int_equal(http_query_get("flag&x=1", "flag", out, sizeof out), 0);
    assert_int_equal(http_query_get("x=0123456789", "x", out, 5), -2);
    assert_int_equal(http_query_get(NULL, "x", out, sizeof out), -1);
    assert_int_equal(http_query_get("", "x", out, sizeof out), -1);
}

static void test_target_path(void **state)
{
    char out[64];
    (void)state;
    assert_int_equal(http_target_path("/config/pwtoken_get?src=ymsgr", out, sizeof out), 0);
    assert_string_equal(out, "/config/pwtoken_get");
    assert_int_equal(http_target_path("https://login.yahoo.com/config/pwtoken_login?token=x", out, sizeof out), 0);
    assert_string_equal(out, "/config/pwtoken_login");
    assert_int_equal(http_target_path("http://vcs1.msg.yahoo.com:80/capacity", out, sizeof out), 0);
    assert_string_equal(out, "/capacity");
    assert_int_equal(http_target_path("http://host?x", out, sizeof out), 0);
    assert_string_equal(out, "/");
    assert_int_equal(http_target_path("*", out, sizeof out), -1);
    assert_int_equal(http_target_path("ht tp://x/y", out, sizeof out), -1);
    assert_int_equal(http_target_path("/a/very/long/path", out, 5), -1);
}

/* Checks a head given as a C string (it must be exactly one head as http_head_len delimits it). */
static int check(const char *head, struct http_framing *f)
{
    ssize_t n = http_head_len(head, strlen(head));
    assert_int_equal(n, (ssize_t)strlen(head));
    return http_head_check(head, strlen(head), f);
}

static void test_head_len(void **state)
{
    (void)state;
#define HL(s) http_head_len(s, strlen(s))
    assert_int_equal(HL("GET / HTTP/1.1\r\nHost: a\r\n"), 0);
    assert_int_equal(HL("GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY"), 27);
    assert_int_equal(HL("GET / HTTP/1.0\n\nX"), 16);
    assert_int_equal(HL("GET / HTTP/1.0\r\nA: b\n\r\nX"), 23);
    assert_int_equal(HL("GET / HTTP/1.0\r\nA: b\r\r\n"), 0); /* "\r" alone is not an empty line */
    char *big = malloc(HTTP_MAX_HEAD + 10);
    assert_non_null(big);
    memset(big, 'a', HTTP_MAX_HEAD + 10);
    assert_int_equal(http_head_len(big, HTTP_MAX_HEAD - 1), 0);
    assert_int_equal(http_head_len(big, HTTP_MAX_HEAD + 10), HTTP_FR_TOO_BIG);
    free(big);
}

static void test_head_check(void **state)
{
    struct http_framing f;
    (void)state;
    assert_int_equal(check("GET /x HTTP/1.1\r\nHost: a\r\n\r\n", &f), HTTP_FR_OK);
    assert_int_equal(f.chunked, 0);
    assert_true(f.length == 0);
    assert_int_equal(check("POST /x HTTP/1.1\r\ncontent-length:  6 \r\n\r\n", &f), HTTP_FR_OK);
    assert_true(f.length == 6);
    assert_int_equal(check("POST /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", &f), HTTP_FR_OK);
    assert_int_equal(f.chunked, 1);
    assert_int_equal(check("GET /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &f), HTTP_FR_OK);
    /* the reported smuggling: two conflicting lengths, and a signed one */
    assert_int_equal(check("POST / HTTP/1.1\r\nContent-Length: 6\r\nContent-Length: 40\r\n\r\n", &f), HTTP_FR_CL_DUP);
    assert_int_equal(check("POST / HTTP/1.1\r\nContent-Length: 6\r\nContent-Length: 6\r\n\r\n", &f), HTTP_FR_CL_DUP);
    assert_int_equal(check("POST / HTTP/1.1\r\nContent-Length: +6\r\n\r\n", &f), HTTP_FR_CL_BAD);
    static const char *const bad_cl[] = {"-1", "", " ", "6,6", "6 6", "0x10", "\t6", "6\t", "1e3", "1234567890123456789"};
    for (size_t i = 0; i < sizeof bad_cl / sizeof bad_cl[0]; i++) {
        char h[128];
        snprintf(h, sizeof h, "POST / HTTP/1.1\r\nContent-Length: %s\r\n\r\n", bad_cl[i]);
        assert_int_equal(check(h, &f), HTTP_FR_CL_BAD);
    }
    assert_int_equal(check("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", &f),
                     HTTP_FR_TE_CL);
    assert_int_equal(check("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", &f),
                     HTTP_FR_TE_DUP);
    assert_int_equal(check("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &f), HTTP_FR_TE_BAD);
    assert_int_equal(check("POST / HTTP/1.1\r\nTransfer-Encoding:\tchunked\r\n\r\n", &f), HTTP_FR_TE_BAD);
    assert_int_equal(check("POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", &f), HTTP_FR_TE_BAD);
    /* obs-fold, names with spaces, bare CR, NUL */
    assert_int_equal(check("POST / HTTP/1.1\r\nX: a\r\n chunked\r\n\r\n", &f), HTTP_FR_FOLD);
    assert_int_equal(check("POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\tchunked\r\n\r\n", &f), HTTP_FR_TE_BAD);
    assert_int_equal(check("POST / HTTP/1.1\r\n Content-Length: 5\r\n\r\n", &f), HTTP_FR_FOLD);
    assert_int_equal(check("POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\n", &f), HTTP_FR_BAD_NAME);
    assert_int_equal(check("POST / HTTP/1.1\r\nNoColon\r\n\r\n", &f), HTTP_FR_BAD_NAME);
    assert_int_equal(check("POST / HTTP/1.1\r\n: x\r\n\r\n", &f), HTTP_FR_BAD_NAME);
    assert_int_equal(check("POST / HTTP/1.1\r\nContent-Length: 5\rX: 1\r\n\r\n", &f), HTTP_FR_BAD_BYTE);
    assert_int_equal(http_head_check("POST / HTTP/1.1\r\nA: \0\r\n\r\n", 25, &f), HTTP_FR_BAD_BYTE);
    /* a body on GET/HEAD would be read by evhttp as the next request */
    assert_int_equal(check("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", &f), HTTP_FR_BODY_METHOD);
    assert_int_equal(check("HEAD / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &f), HTTP_FR_BODY_METHOD);
    assert_int_equal(check("post / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", &f), HTTP_FR_BODY_METHOD);
    assert_int_equal(check(" GET / HTTP/1.1\r\n\r\n", &f), HTTP_FR_BAD_LINE);
    assert_int_equal(http_head_check("\r\nGET / HTTP/1.1\r\n\r\n", 20, &f), HTTP_FR_BAD_LINE);
    /* line by line, as it arrives */
    struct http_head_state st;
    http_head_init(&st);
    assert_int_equal(http_head_line(&st, "POST /a HTTP/1.1\r", 17), 0);
    assert_int_equal(http_head_line(&st, "Content-Length: 6\r", 18), 0);
    assert_int_equal(http_head_line(&st, "Content-Length: 40\r", 19), HTTP_FR_CL_DUP);
    http_head_init(&st);
    assert_int_equal(http_head_line(&st, "POST /a HTTP/1.1", 16), 0);
    assert_int_equal(http_head_line(&st, "Transfer-Encoding: chunked", 26), 0);
    assert_int_equal(http_head_line(&st, "", 0), 1);
    assert_int_equal(st.f.chunked, 1);
    char longline[HTTP_MAX_LINE + 2];
    memset(longline, 'a', sizeof longline);
    http_head_init(&st);
    assert_int_equal(http_head_line(&st, longline, sizeof longline), HTTP_FR_TOO_BIG);
    assert_string_equal(http_framing_strerror(HTTP_FR_CL_DUP), "more than one Content-Length");
}

/* Feeds s in pieces of `step` bytes; returns the body length consumed, or the error. */
static ssize_t feed(const char *s, size_t step, int *done)
{
    struct http_chunked st;
    size_t len = strlen(s), used = 0;
    http_chunked_init(&st);
    *done = 0;
    while (used < len && !*done) {
        size_t n = len - used < step ? len - used : step;
        ssize_t r = http_chunked_feed(&st, s + used, n, done);
        if (r < 0) return r;
        used += (size_t)r;
        if (!*done) assert_int_equal(r, (ssize_t)n);
    }
    return (ssize_t)used;
}

static void test_chunked(void **state)
{
    int done;
    (void)state;
    const char *body = "5\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-T: 1\r\n\r\n";
    for (size_t step = 1; step < 8; step++) {
        assert_int_equal(feed(body, step, &done), (ssize_t)strlen(body));
        assert_int_equal(done, 1);
    }
    char two[256];
    snprintf(two, sizeof two, "%sGET /smuggled HTTP/1.1\r\n\r\n", "3\nabc\n0\n\n");
    assert_int_equal(feed(two, 100, &done), 9); /* ends exactly at the end of the body */
    assert_int_equal(done, 1);
    assert_int_equal(feed("5\r\nhel", 100, &done), 6);
    assert_int_equal(done, 0);
    static const char *const bad[] = {"+5\r\nhello\r\n0\r\n\r\n", "5;ext=1\r\nhello\r\n0\r\n\r\n", " 5\r\nhello\r\n",
                                      "0x5\r\nhello\r\n", "5\r\nhelloX\r\n", "\r\n", "1000000000000000\r\n",
                                      "0\r\n folded\r\n\r\n", "0\r\nNoColon\r\n\r\n", "0\r\nA: 1\rB\r\n\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_int_equal(feed(bad[i], 3, &done), HTTP_FR_CHUNK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pct_decode),
        cmocka_unit_test(test_query_get),
        cmocka_unit_test(test_target_path),
        cmocka_unit_test(test_head_len),
        cmocka_unit_test(test_head_check),
        cmocka_unit_test(test_chunked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
