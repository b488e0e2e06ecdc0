/* Unit tests of the sans-IO client session: server bytes are scripted with libymsg's builder, the
 * session's output is decoded and checked pair by pair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ymsg/ymsg.h"

#define SID 0x0047E133u
#define CHAL "g.4Y5SJZ6nkFAoUfqKMHGbvIAsSjH4ZUWVqcpg--"
#define CRUMB "GbYfS1Jq1Dk"

static char logbuf[65536];
static void log_cb(void *ud, int level, const char *msg)
{
    (void)ud;
    size_t l = strlen(logbuf);
    snprintf(logbuf + l, sizeof logbuf - l, "%d:%s\n", level, msg);
}

/* Builds one server packet from NULL-terminated key/value strings. */
static size_t vmk(uint8_t *out, size_t cap, uint16_t svc, uint32_t status, uint32_t sid, va_list ap)
{
    struct ymsg_builder b;
    ymsg_builder_init(&b, out, cap);
    ymsg_build_begin(&b, svc, status, sid);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        ymsg_build_str(&b, (uint32_t)atoi(k), v);
    }
    ssize_t n = ymsg_build_end(&b);
    assert_true(n > 0);
    return (size_t)n;
}

static size_t mk(uint8_t *out, size_t cap, uint16_t svc, uint32_t status, uint32_t sid, ...)
{
    va_list ap;
    va_start(ap, sid);
    size_t n = vmk(out, cap, svc, status, sid, ap);
    va_end(ap);
    return n;
}

static void feed(struct ymsg_session *s, uint16_t svc, uint32_t status, ...)
{
    uint8_t buf[8192];
    va_list ap;
    va_start(ap, status);
    size_t n = vmk(buf, sizeof buf, svc, status, SID, ap);
    va_end(ap);
    ymsg_session_feed(s, buf, n);
}

/* Next packet the session wants to send (copied into buf). */
static int take(struct ymsg_session *s, struct ymsg_packet *pkt, uint8_t *buf, size_t cap)
{
    const uint8_t *out;
    size_t n = ymsg_session_output(s, &out);
    if (n == 0)
        return 0;
    assert_true(n <= cap);
    memcpy(buf, out, n);
    ssize_t r = ymsg_decode(buf, n, NULL, pkt, NULL);
    assert_true(r > 0);
    ymsg_session_consume(s, (size_t)r);
    return 1;
}

static void expect_kv(const struct ymsg_packet *pkt, uint32_t key, const char *val)
{
    char buf[1024];
    assert_true(ymsg_get_str(pkt, key, buf, sizeof buf) >= 0);
    assert_string_equal(buf, val);
}

static const struct ymsg_event *next_of(struct ymsg_session *s, enum ymsg_event_type t)
{
    const struct ymsg_event *ev;
    while ((ev = ymsg_session_next_event(s)))
        if (ev->type == t)
            return ev;
    fail_msg("no %s event", ymsg_event_type_name(t));
    return NULL;
}

static void drain(struct ymsg_session *s)
{
    const uint8_t *o;
    ymsg_session_consume(s, ymsg_session_output(s, &o));
    while (ymsg_session_next_event(s))
        ;
}

static struct ymsg_session *new_session(uint32_t initial)
{
    struct ymsg_session_config cfg;
    ymsg_session_config_default(&cfg);
    cfg.user = "Alice";
    cfg.password = "p&ss w";
    cfg.initial_status = initial;
    cfg.login_url = "http://127.0.0.1:8080/";
    cfg.log = log_cb;
    cfg.log_level = YMSG_LOG_DEBUG;
    logbuf[0] = 0;
    struct ymsg_session *s = ymsg_session_new(&cfg);
    assert_non_null(s);
    return s;
}

static const char TOKEN_BODY[] = "0\r\nymsgr=TOKEN123\r\npartnerid=P1";
static const char CRUMB_HEADERS[] = "HTTP/1.1 200 OK\r\nSet-Cookie: Y=yv; path=/; domain=.yahoo.com\r\n"
                                    "Set-Cookie: T=tv; path=/\r\nSet-Cookie: B=bv; expires=x; path=/\r\nX: y\r\n\r\n";
static const char CRUMB_BODY[] = "0\r\ncrumb=" CRUMB "\r\nY=yv; path=/; domain=.yahoo.com\r\nT=tv; path=/\r\n"
                                 "cookievalidfor=86400\r\n";

/* Runs the login up to the 0x54 and returns it checked. */
static void login_to_authresp(struct ymsg_session *s, const char *tok_body, size_t tok_len, const char *cr_headers,
                              const char *cr_body, size_t cr_len)
{
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_int_equal(ymsg_session_start(s, 1000), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    /* §13.1: exactly the 30 bytes libyahoo2 and OpenYMSG send. */
    static const uint8_t first[] = {0x59, 0x4d, 0x53, 0x47, 0, 0x10, 0, 0, 0, 0x0a, 0, 0x57, 0, 0, 0, 0, 0, 0, 0, 0,
                                    0x31, 0xc0, 0x80, 'a', 'l', 'i', 'c', 'e', 0xc0, 0x80};
    assert_memory_equal(buf, first, sizeof first);
    feed(s, YMSG_SVC_AUTH, 1, "1", "alice", "94", CHAL, "13", "2", NULL);
    assert_int_equal(ymsg_session_id(s), SID);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_HTTP_GET);
    assert_string_equal(ev->text, "http://127.0.0.1:8080/config/pwtoken_get?src=ymsgr&ts=&login=alice"
                                  "&passwd=p%26ss%20w&chal=" CHAL);
    assert_int_equal(ymsg_session_http_response(s, 200, "", 0, tok_body, tok_len), 0);
    ev = next_of(s, YMSG_EV_HTTP_GET);
    assert_string_equal(ev->text, "http://127.0.0.1:8080/config/pwtoken_login?src=ymsgr&ts=&token=TOKEN123");
    assert_int_equal(ymsg_session_http_response(s, 200, cr_headers, strlen(cr_headers), cr_body, cr_len), 0);
    assert_int_equal(ymsg_session_state(s), YMSG_SS_AUTHRESP);
}

static void check_authresp(struct ymsg_session *s, uint32_t status, const char *y, const char *b)
{
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_AUTHRESP);
    assert_int_equal(pkt.hdr.status, status);
    assert_int_equal(pkt.hdr.session, SID);
    static const uint32_t order[] = {1, 0, 277, 278, 307, 244, 2, 2, 59, 98, 135};
    size_t pos = 0, i = 0;
    struct ymsg_kv kv;
    while (ymsg_next(&pkt, &pos, &kv)) {
        assert_true(i < 11);
        assert_int_equal(kv.key, order[i++]);
    }
    assert_int_equal(i, 11);
    char resp[25];
    assert_int_equal(ymsg_auth16_response(CRUMB, CHAL, resp), 0);
    assert_string_equal(resp, "XNWI3fXT9Q9MrFsA40flsA--"); /* §9.3 */
    expect_kv(&pkt, 307, resp);
    expect_kv(&pkt, 277, y);
    expect_kv(&pkt, 59, b);
    expect_kv(&pkt, 244, "4194239");
    struct ymsg_kv second;
    assert_int_equal(ymsg_get_nth(&pkt, 2, 1, &second), 0);
    assert_true(ymsg_kv_eq(&second, "1"));
}

static struct ymsg_session *logged_in(uint32_t initial)
{
    struct ymsg_session *s = new_session(initial);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    check_authresp(s, initial, "yv; path=/; domain=.yahoo.com", "bv");
    feed(s, YMSG_SVC_LIST_15, 0, "302", "318", "300", "318", "65", "Friends", "302", "319", "300", "319", "7", "bob",
         "301", "319", "300", "319", "7", "carol", "223", "1", "301", "319", "303", "319", "301", "318", "303", "318",
         NULL);
    next_of(s, YMSG_EV_LOGGED_IN);
    assert_int_equal(ymsg_session_state(s), YMSG_SS_ONLINE);
    return s;
}

static void test_login_flow(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    assert_int_equal(ymsg_session_buddy_count(s), 2);
    assert_string_equal(ymsg_session_buddy(s, 0)->id, "bob");
    assert_string_equal(ymsg_session_buddy(s, 0)->group, "Friends");
    assert_int_equal(ymsg_session_buddy(s, 1)->pending, 1);
    assert_int_equal(ymsg_session_group_count(s), 1);
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf)); /* announce the status like Pidgin */
    assert_int_equal(pkt.hdr.service, YMSG_SVC_Y6_STATUS_UPDATE);
    expect_kv(&pkt, 10, "0");
    ymsg_session_free(s);
}

static void test_login_invisible(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(YMSG_STATUS_INVISIBLE);
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_Y6_VISIBLE_TOGGLE);
    expect_kv(&pkt, 13, "2");
    assert_int_equal(ymsg_session_my_status(s), 12);
    /* back to available: 0xC6 then 0xC5 13=1 */
    assert_int_equal(ymsg_session_set_status(s, 0, NULL, 0), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_Y6_STATUS_UPDATE);
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_Y6_VISIBLE_TOGGLE);
    expect_kv(&pkt, 13, "1");
    ymsg_session_free(s);
}

/* The same login with a chunked token body (libyahoo2 style) and cookies only in the headers. */
static void test_login_chunked_and_header_cookies(void **st)
{
    (void)st;
    struct ymsg_session *s = new_session(0);
    static const char tok[] = "1f\r\n0\r\nymsgr=TOKEN123\r\npartnerid=P1\r\n0\r\n\r\n";
    static const char crb[] = "12\r\n0\r\ncrumb=" CRUMB "\r\n\r\n0\r\n\r\n";
    login_to_authresp(s, tok, strlen(tok), CRUMB_HEADERS, crb, strlen(crb));
    check_authresp(s, 0, "yv", "bv");
    ymsg_session_free(s);
    /* LF-only lines, no trailing newline, token body with trailing CRLF */
    s = new_session(0);
    static const char tok2[] = "0\nymsgr=TOKEN123\npartnerid=P1\r\n";
    static const char crb2[] = "0\ncrumb=" CRUMB "\nY=yv\nT=tv";
    login_to_authresp(s, tok2, strlen(tok2), "", crb2, strlen(crb2));
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 277, "yv");
    assert_int_equal(ymsg_count(&pkt, 59), 0); /* no B cookie, no key 59 (like Pidgin) */
    ymsg_session_free(s);
}

static void expect_fail(struct ymsg_session *s, int code, const char *text, unsigned flags)
{
    const struct ymsg_event *ev = next_of(s, YMSG_EV_LOGIN_FAILED);
    assert_int_equal(ev->code, code);
    assert_non_null(strstr(ev->text, text));
    assert_int_equal(ev->flags & YMSG_EVF_NETWORK, flags);
    next_of(s, YMSG_EV_DISCONNECTED);
    assert_int_equal(ymsg_session_state(s), YMSG_SS_CLOSED);
}

static void test_login_failures(void **st)
{
    (void)st;
    static const struct { const char *body; int code; const char *text; } cases[] = {
        {"1212", 1212, "wrong password"}, {"1235", 1235, "no such user"},
        {"1213", 1213, "locked"}, {"1236\r\n", 1236, "locked"}, {"4\r\n1212\r\n0\r\n\r\n", 1212, "wrong password"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ymsg_session *s = new_session(0);
        ymsg_session_start(s, 0);
        feed(s, YMSG_SVC_AUTH, 1, "1", "alice", "94", CHAL, "13", "2", NULL);
        next_of(s, YMSG_EV_HTTP_GET);
        ymsg_session_http_response(s, 200, NULL, 0, cases[i].body, strlen(cases[i].body));
        expect_fail(s, cases[i].code, cases[i].text, 0);
        ymsg_session_free(s);
    }
    static const struct { const char *code; const char *text; } auth[] = {
        {"13", "bad password"}, {"3", "does not exist"}, {"14", "locked"}};
    for (size_t i = 0; i < 3; i++) {
        struct ymsg_session *s = new_session(0);
        login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
        feed(s, YMSG_SVC_AUTHRESP, YMSG_PKT_ERROR, "66", auth[i].code, NULL);
        expect_fail(s, atoi(auth[i].code), auth[i].text, 0);
        ymsg_session_free(s);
    }
    /* login server unreachable, garbage answer, login timeout: network-type failures */
    struct ymsg_session *s = new_session(0);
    ymsg_session_start(s, 0);
    feed(s, YMSG_SVC_AUTH, 1, "1", "alice", "94", CHAL, NULL);
    next_of(s, YMSG_EV_HTTP_GET);
    ymsg_session_http_response(s, 0, NULL, 0, "Connection refused", 18);
    expect_fail(s, YMSG_EPROTO, "unreachable", YMSG_EVF_NETWORK);
    ymsg_session_free(s);
    s = new_session(0);
    ymsg_session_start(s, 0);
    feed(s, YMSG_SVC_AUTH, 1, "1", "alice", "94", CHAL, NULL);
    next_of(s, YMSG_EV_HTTP_GET);
    ymsg_session_http_response(s, 500, NULL, 0, "<html>oops</html>", 17);
    expect_fail(s, YMSG_EPROTO, "without a result code", YMSG_EVF_NETWORK);
    ymsg_session_free(s);
    s = new_session(0);
    ymsg_session_start(s, 0);
    assert_int_equal(ymsg_session_timeout(s, 0), 60000);
    ymsg_session_tick(s, 60000);
    expect_fail(s, YMSG_ESTATE, "timed out", YMSG_EVF_NETWORK);
    ymsg_session_free(s);
}

static void test_list15_conventions(void **st)
{
    (void)st;
    /* status 5 + 5 + 0 with no 303=318 at all, a group continued across packets, ignore list */
    struct ymsg_session *s = new_session(0);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    drain(s);
    feed(s, YMSG_SVC_LIST_15, 5, "302", "318", "300", "318", "65", "Work", "302", "319", "300", "319", "7", "bob",
         "301", "319", NULL);
    assert_int_equal(ymsg_session_state(s), YMSG_SS_AUTHRESP);
    feed(s, YMSG_SVC_LIST_15, 5, "300", "319", "7", "dave", "301", "319", "303", "319", "301", "318", NULL);
    feed(s, YMSG_SVC_LIST_15, 0, "300", "318", "65", "Empty", "302", "319", "303", "319", "301", "318",
         "302", "320", "300", "320", "7", "troll", "301", "320", "303", "320", NULL);
    next_of(s, YMSG_EV_LOGGED_IN);
    assert_int_equal(ymsg_session_buddy_count(s), 2);
    assert_string_equal(ymsg_session_buddy(s, 1)->id, "dave");
    assert_string_equal(ymsg_session_buddy(s, 1)->group, "Work");
    assert_int_equal(ymsg_session_group_count(s), 2);
    assert_string_equal(ymsg_session_group(s, 1), "Empty");
    assert_int_equal(ymsg_session_ignored_count(s), 1);
    assert_string_equal(ymsg_session_ignored(s, 0), "troll");
    ymsg_session_free(s);
    /* libyahoo2 convention: every packet status 5, the end is 303=318 */
    s = new_session(0);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    drain(s);
    feed(s, YMSG_SVC_LIST_15, 5, "302", "318", "300", "318", "65", "G", "302", "319", "300", "319", "7", "bob", NULL);
    feed(s, YMSG_SVC_LIST_15, 5, "301", "319", "303", "319", "301", "318", "303", "318", NULL);
    next_of(s, YMSG_EV_LOGGED_IN);
    next_of(s, YMSG_EV_BUDDY_LIST);
    assert_int_equal(ymsg_session_buddy_count(s), 1);
    ymsg_session_free(s);
    /* empty body, status 0: no buddies */
    s = new_session(0);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    drain(s);
    feed(s, YMSG_SVC_LIST_15, 0, NULL);
    next_of(s, YMSG_EV_LOGGED_IN);
    assert_int_equal(ymsg_session_buddy_count(s), 0);
    ymsg_session_free(s);
}

static void test_status15_split(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    feed(s, YMSG_SVC_STATUS_15, 5, "302", "315", "300", "315", "7", "bob", "10", "99", NULL);
    assert_null(ymsg_session_next_event(s)); /* entry not finished yet */
    feed(s, YMSG_SVC_STATUS_15, 1, "19", "At lunch \xe2\x98\x95", "47", "1", "13", "1", "137", "30", "301", "315",
         "300", "315", "7", "carol", "10", "0", "13", "1", "301", "315", "303", "315", NULL);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_PRESENCE);
    assert_string_equal(ev->who, "bob");
    assert_int_equal(ev->on, 1);
    assert_int_equal(ev->status, 99);
    assert_string_equal(ev->text, "At lunch \xe2\x98\x95");
    assert_int_equal(ev->away, 1);
    assert_int_equal(ev->idle, 30);
    ev = next_of(s, YMSG_EV_PRESENCE);
    assert_string_equal(ev->who, "carol");
    const struct ymsg_buddy *b = ymsg_session_find_buddy(s, "BOB");
    assert_non_null(b);
    assert_int_equal(b->online, 1);
    assert_string_equal(b->msg, "At lunch \xe2\x98\x95");
    /* offline: 0x02 status 1 7=bob */
    feed(s, YMSG_SVC_LOGOFF, 1, "7", "bob", NULL);
    ev = next_of(s, YMSG_EV_PRESENCE);
    assert_int_equal(ev->on, 0);
    assert_int_equal(b->online, 0);
    ymsg_session_free(s);
}

static void test_old_presence_and_list(void **st)
{
    (void)st;
    struct ymsg_session *s = new_session(0);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    drain(s);
    feed(s, YMSG_SVC_LIST, 5, "87", "Friends:bob,car", NULL);
    feed(s, YMSG_SVC_LIST, 0, "87", "ol\nWork:dave\n", "88", "troll,spam", "89", "alice", NULL);
    next_of(s, YMSG_EV_LOGGED_IN);
    assert_int_equal(ymsg_session_buddy_count(s), 3);
    assert_string_equal(ymsg_session_buddy(s, 1)->id, "carol");
    assert_string_equal(ymsg_session_buddy(s, 2)->group, "Work");
    assert_int_equal(ymsg_session_ignored_count(s), 2);
    drain(s);
    feed(s, YMSG_SVC_LOGON, 1, "0", "alice", "1", "alice", "8", "2", "7", "bob", "10", "0", "11", "0", "17", "0",
         "13", "1", "7", "dave", "10", "2", "13", "1", NULL);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_PRESENCE);
    assert_string_equal(ev->who, "bob");
    ev = next_of(s, YMSG_EV_PRESENCE);
    assert_string_equal(ev->who, "dave");
    assert_int_equal(ev->status, 2);
    feed(s, YMSG_SVC_ISAWAY, 4, "7", "bob", "13", "1", NULL); /* code only in the header */
    ev = next_of(s, YMSG_EV_PRESENCE);
    assert_int_equal(ev->status, 4);
    feed(s, YMSG_SVC_ISBACK, 0, "7", "bob", "10", "0", "13", "1", NULL);
    ev = next_of(s, YMSG_EV_PRESENCE);
    assert_int_equal(ev->status, 0);
    assert_int_equal(ev->on, 1);
    feed(s, YMSG_SVC_LOGOFF, 1, "7", "dave", NULL);
    ev = next_of(s, YMSG_EV_PRESENCE);
    assert_int_equal(ev->on, 0);
    ymsg_session_free(s);
}

static void test_session_id_changes(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    uint8_t buf[4096];
    size_t n = mk(buf, sizeof buf, YMSG_SVC_PING, 1, 0xCAFEBABE, "143", "60", "144", "1", NULL);
    ymsg_session_feed(s, buf, n);
    assert_int_equal(ymsg_session_id(s), 0xCAFEBABE);
    assert_int_equal(ymsg_session_send_message(s, "bob", "hi"), 0);
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.session, 0xCAFEBABE);
    ymsg_session_free(s);
}

static void test_messages(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    feed(s, YMSG_SVC_MESSAGE, 1, "4", "bob", "5", "alice", "14", "\x1b[31mhi <font face=\"x\">there</font> \xc3\xa9",
         "97", "1", "15", "1700000000", "429", "0000000308B2279D", "450", "0", NULL);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_MESSAGE);
    assert_string_equal(ev->who, "bob");
    assert_string_equal(ev->text, "hi there \xc3\xa9");
    assert_int_equal(ev->time, 1700000000);
    assert_int_equal(ev->flags & YMSG_EVF_OFFLINE, 0);
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf)); /* the 0xFB ack */
    assert_int_equal(pkt.hdr.service, YMSG_SVC_MESSAGE_ACK);
    expect_kv(&pkt, 5, "bob");
    expect_kv(&pkt, 430, "0000000308B2279D");
    /* the same id again: acked, not shown twice */
    feed(s, YMSG_SVC_MESSAGE, 1, "4", "bob", "5", "alice", "14", "hi", "429", "0000000308B2279D", NULL);
    assert_null(ymsg_session_next_event(s));
    assert_true(take(s, &pkt, buf, sizeof buf));
    /* latin-1 without key 97, control characters removed */
    feed(s, YMSG_SVC_MESSAGE, 1, "4", "bob", "14", "caf\xe9\x07!", NULL);
    ev = next_of(s, YMSG_EV_MESSAGE);
    assert_string_equal(ev->text, "caf\xc3\xa9!");
    /* invalid UTF-8 with 97=1 becomes U+FFFD */
    feed(s, YMSG_SVC_MESSAGE, 1, "4", "bob", "97", "1", "14", "a\xff", NULL);
    ev = next_of(s, YMSG_EV_MESSAGE);
    assert_string_equal(ev->text, "a\xef\xbf\xbd");
    /* offline batch */
    feed(s, YMSG_SVC_MESSAGE, 5, "31", "6", "32", "6", "4", "bob", "5", "alice", "14", "one", "15", "100", "97", "1",
         "31", "6", "32", "6", "4", "carol", "5", "alice", "14", "<ding>", "15", "200", "97", "1", NULL);
    ev = next_of(s, YMSG_EV_MESSAGE);
    assert_string_equal(ev->text, "one");
    assert_int_equal(ev->time, 100);
    assert_int_equal(ev->flags & YMSG_EVF_OFFLINE, YMSG_EVF_OFFLINE);
    ev = next_of(s, YMSG_EV_BUZZ);
    assert_string_equal(ev->who, "carol");
    assert_int_equal(ev->time, 200);
    /* not sent */
    feed(s, YMSG_SVC_MESSAGE, 2, "5", "bob", "16", "no", NULL);
    ev = next_of(s, YMSG_EV_NOT_SENT);
    assert_string_equal(ev->text, "no");
    ymsg_session_free(s);
}

static void test_typing_auth_kick(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    feed(s, YMSG_SVC_NOTIFY, 1, "4", "bob", "5", "alice", "13", "1", "14", " ", "49", "TYPING", NULL);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_TYPING);
    assert_string_equal(ev->who, "bob");
    assert_int_equal(ev->on, 1);
    feed(s, YMSG_SVC_AUTH_REQ_15, 3, "4", "eve", "5", "alice", "14", "add me", NULL);
    ev = next_of(s, YMSG_EV_AUTH_REQUEST);
    assert_string_equal(ev->who, "eve");
    assert_string_equal(ev->text, "add me");
    assert_int_equal(ymsg_session_request_count(s), 1);
    assert_string_equal(ymsg_session_request(s, 0)->msg, "add me");
    assert_int_equal(ymsg_session_auth_reply(s, "eve", 1, NULL), 0);
    assert_int_equal(ymsg_session_request_count(s), 0);
    drain(s);
    feed(s, YMSG_SVC_AUTH_REQ_15, 1, "4", "carol", "5", "alice", "13", "1", NULL);
    ev = next_of(s, YMSG_EV_AUTH_ANSWER);
    assert_int_equal(ev->on, 1);
    assert_int_equal(ymsg_session_find_buddy(s, "carol")->pending, 0);
    feed(s, YMSG_SVC_AUTH_REQ_15, 1, "4", "dan", "5", "alice", "13", "2", "14", "no", NULL);
    ev = next_of(s, YMSG_EV_AUTH_ANSWER);
    assert_int_equal(ev->on, 0);
    assert_string_equal(ev->text, "no");
    feed(s, YMSG_SVC_LOGOFF, YMSG_PKT_ERROR, "66", "42", NULL);
    ev = next_of(s, YMSG_EV_KICKED);
    assert_int_equal(ev->code, 42);
    next_of(s, YMSG_EV_DISCONNECTED);
    assert_int_equal(ymsg_session_state(s), YMSG_SS_CLOSED);
    assert_int_equal(ymsg_session_send_message(s, "bob", "x"), YMSG_ESTATE);
    ymsg_session_free(s);
}

static void test_list_acks(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    feed(s, YMSG_SVC_ADDBUDDY, 1, "1", "alice", "7", "eve", "65", "Work", "66", "0", "223", "1", NULL);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_LIST_ACK);
    assert_int_equal(ev->service, YMSG_SVC_ADDBUDDY);
    assert_int_equal(ev->code, 0);
    assert_non_null(ymsg_session_find_buddy(s, "eve"));
    assert_int_equal(ymsg_session_find_buddy(s, "eve")->pending, 1);
    feed(s, YMSG_SVC_CHGRP_15, 1, "1", "alice", "302", "240", "300", "240", "7", "eve", "224", "Work", "264", "Pals",
         "301", "240", "303", "240", "66", "0", NULL);
    next_of(s, YMSG_EV_LIST_ACK);
    assert_string_equal(ymsg_session_find_buddy(s, "eve")->group, "Pals");
    feed(s, YMSG_SVC_GROUPRENAME, 1, "1", "alice", "65", "Mates", "66", "0", "67", "Pals", NULL); /* swapped */
    ev = next_of(s, YMSG_EV_LIST_ACK);
    assert_string_equal(ev->group, "Mates");
    assert_string_equal(ev->group2, "Pals");
    assert_string_equal(ymsg_session_find_buddy(s, "eve")->group, "Mates");
    feed(s, YMSG_SVC_REMBUDDY, 1, "1", "alice", "7", "eve", "65", "Mates", "66", "0", NULL);
    next_of(s, YMSG_EV_LIST_ACK);
    assert_null(ymsg_session_find_buddy(s, "eve"));
    feed(s, YMSG_SVC_IGNORECONTACT, 1, "0", "troll", "1", "alice", "13", "1", "66", "0", NULL);
    ev = next_of(s, YMSG_EV_LIST_ACK);
    assert_string_equal(ev->who, "troll");
    assert_int_equal(ymsg_session_ignored_count(s), 1);
    feed(s, YMSG_SVC_IGNORECONTACT, 1, "0", "bob", "1", "alice", "13", "1", "66", "12", NULL);
    ev = next_of(s, YMSG_EV_LIST_ACK);
    assert_int_equal(ev->code, 12);
    assert_int_equal(ymsg_session_ignored_count(s), 1);
    ymsg_session_free(s);
}

static void test_commands(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_int_equal(ymsg_session_send_message(s, "bob", "h\xc3\xa9llo"), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_MESSAGE);
    assert_int_equal(pkt.hdr.status, 0x5A55AA56u);
    expect_kv(&pkt, 1, "alice");
    expect_kv(&pkt, 5, "bob");
    expect_kv(&pkt, 14, "h\xc3\xa9llo");
    expect_kv(&pkt, 97, "1");
    assert_int_equal(ymsg_session_buzz(s, "bob"), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 14, "<ding>");
    assert_int_equal(ymsg_session_typing(s, "bob", 1), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_NOTIFY);
    assert_int_equal(pkt.hdr.status, 0x16);
    expect_kv(&pkt, 49, "TYPING");
    expect_kv(&pkt, 13, "1");
    assert_int_equal(ymsg_session_set_status(s, 99, "busy coding", 1), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 10, "99");
    expect_kv(&pkt, 19, "busy coding");
    expect_kv(&pkt, 47, "1");
    assert_int_equal(ymsg_session_set_status(s, 999, NULL, 0), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 47, "2");
    assert_int_equal(ymsg_session_set_status(s, 12, NULL, 0), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_Y6_VISIBLE_TOGGLE);
    assert_int_equal(ymsg_session_add_buddy(s, "eve", "Friends", "hi"), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_ADDBUDDY);
    expect_kv(&pkt, 7, "eve");
    expect_kv(&pkt, 65, "Friends");
    expect_kv(&pkt, 334, "0");
    assert_int_equal(ymsg_session_remove_buddy(s, "bob", NULL), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 65, "Friends");
    assert_int_equal(ymsg_session_move_buddy(s, "bob", NULL, "Work"), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 224, "Friends");
    expect_kv(&pkt, 264, "Work");
    assert_int_equal(ymsg_session_auth_reply(s, "eve", 0, "sorry"), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_AUTH_REQ_15);
    expect_kv(&pkt, 13, "2");
    expect_kv(&pkt, 14, "sorry");
    assert_int_equal(ymsg_session_ignore(s, "troll", 1), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 13, "1");
    assert_int_equal(ymsg_session_rename_group(s, "Friends", "Mates"), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 67, "Mates");
    /* bad arguments change nothing */
    assert_int_equal(ymsg_session_send_message(s, "", "x"), YMSG_EINVAL);
    assert_int_equal(ymsg_session_send_message(s, "bob", "a\xc0\x80"), YMSG_EINVAL);
    assert_int_equal(ymsg_session_send_message(s, "b b", "x"), YMSG_EINVAL);
    assert_int_equal(ymsg_session_set_status(s, 50, NULL, 0), YMSG_EINVAL);
    assert_false(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(ymsg_session_logoff(s), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_LOGOFF);
    next_of(s, YMSG_EV_DISCONNECTED);
    ymsg_session_free(s);
}

static void test_timers(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0); /* logged in at t=1000 */
    drain(s);
    assert_int_equal(ymsg_session_timeout(s, 1000), 60000);
    ymsg_session_tick(s, 30000);
    const uint8_t *o;
    assert_int_equal(ymsg_session_output(s, &o), 0);
    ymsg_session_tick(s, 61000);
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_KEEPALIVE);
    expect_kv(&pkt, 0, "alice");
    ymsg_session_tick(s, 3601000);
    int keep = 0, ping = 0;
    while (take(s, &pkt, buf, sizeof buf)) {
        keep += pkt.hdr.service == YMSG_SVC_KEEPALIVE;
        ping += pkt.hdr.service == YMSG_SVC_PING;
    }
    assert_int_equal(keep, 1);
    assert_int_equal(ping, 1);
    ymsg_session_free(s);
}

static void test_hostile_stream(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    uint8_t buf[8192];
    size_t n = 0;
    memcpy(buf, "garbageYMS", 10); /* bad magic, a partial magic */
    n = 10;
    n += mk(buf + n, sizeof buf - n, 0x3333, 1, SID, "9999", "x", NULL); /* unknown service and key */
    /* malformed body: odd number of fields */
    static const uint8_t bad[] = {'Y', 'M', 'S', 'G', 0, 16, 0, 0, 0, 3, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, '1', 0xc0, 0x80};
    memcpy(buf + n, bad, sizeof bad);
    n += sizeof bad;
    n += mk(buf + n, sizeof buf - n, YMSG_SVC_MESSAGE, 1, SID, "4", "bob", "14", "still here", NULL);
    for (size_t i = 0; i < n; i++) /* one byte at a time */
        assert_int_equal(ymsg_session_feed(s, buf + i, 1), 0);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_MESSAGE);
    assert_string_equal(ev->text, "still here");
    struct ymsg_session_stats stats;
    ymsg_session_get_stats(s, &stats);
    assert_true(stats.resyncs >= 1);
    assert_int_equal(stats.bad_packets, 1);
    assert_int_equal(stats.unknown_services, 1);
    assert_non_null(strstr(logbuf, "0:service 0x3333"));
    assert_int_equal(ymsg_session_state(s), YMSG_SS_ONLINE);
    ymsg_session_free(s);
}

static void test_caps(void **st)
{
    (void)st;
    struct ymsg_session_config cfg;
    ymsg_session_config_default(&cfg);
    cfg.user = "alice";
    cfg.password = "p&ss w";
    cfg.login_url = "http://127.0.0.1:8080";
    cfg.max_events = 3;
    cfg.max_buddies = 2;
    struct ymsg_session *s = ymsg_session_new(&cfg);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    drain(s);
    feed(s, YMSG_SVC_LIST_15, 0, "65", "G", "7", "a1", "7", "a2", "7", "a3", "7", "a4", NULL);
    assert_int_equal(ymsg_session_buddy_count(s), 2);
    for (int i = 0; i < 10; i++)
        feed(s, YMSG_SVC_MESSAGE, 1, "4", "bob", "14", "x", NULL);
    struct ymsg_session_stats stats;
    ymsg_session_get_stats(s, &stats);
    assert_true(stats.events_dropped >= 8);
    assert_true(stats.capped >= 2);
    int count = 0;
    while (ymsg_session_next_event(s))
        count++;
    assert_int_equal(count, 3);
    ymsg_session_free(s);
    /* bad configs */
    cfg.max_inbuf = 100;
    assert_null(ymsg_session_new(&cfg));
    ymsg_session_config_default(&cfg);
    cfg.user = "alice";
    assert_null(ymsg_session_new(&cfg));
}

static int hook_in, hook_out;
static void hook(void *ud, int dir, const struct ymsg_packet *pkt)
{
    (void)ud;
    (void)pkt;
    if (dir)
        hook_out++;
    else
        hook_in++;
}

static void test_raw_and_hook(void **st)
{
    (void)st;
    struct ymsg_session_config cfg;
    ymsg_session_config_default(&cfg);
    cfg.user = "alice";
    cfg.password = "p&ss w";
    cfg.login_url = "http://127.0.0.1:8080";
    cfg.on_packet = hook;
    hook_in = hook_out = 0;
    struct ymsg_session *s = ymsg_session_new(&cfg);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    assert_int_equal(hook_in, 1);  /* the 0x57 reply */
    assert_int_equal(hook_out, 2); /* 0x57, 0x54 */
    drain(s);
    uint8_t buf[512], out[512];
    size_t n = mk(buf, sizeof buf, YMSG_SVC_PEERTOPEER, 0, 0, "1", "alice", "5", "bob", "49", "PEERTOPEER", NULL);
    assert_int_equal(ymsg_session_send_raw(s, buf, n), 0);
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, out, sizeof out));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_PEERTOPEER);
    assert_int_equal(pkt.hdr.session, SID); /* patched */
    expect_kv(&pkt, 49, "PEERTOPEER");
    assert_int_equal(ymsg_session_send_raw(s, buf, n - 1), YMSG_EINVAL);
    assert_int_equal(ymsg_session_send_raw(s, buf, n + 1), YMSG_EINVAL);
    assert_int_equal(ymsg_session_send_raw(s, NULL, 0), YMSG_EINVAL);
    /* a re-sent list keeps known presence */
    feed(s, YMSG_SVC_LIST_15, 0, "65", "G", "7", "bob", "7", "carol", NULL);
    feed(s, YMSG_SVC_STATUS_15, 1, "7", "carol", "10", "2", "13", "1", NULL);
    feed(s, YMSG_SVC_LIST_15, 0, "65", "G", "7", "bob", "7", "carol", "65", "H", "7", "dave", NULL);
    assert_int_equal(ymsg_session_buddy_count(s), 3);
    assert_int_equal(ymsg_session_find_buddy(s, "carol")->online, 1);
    assert_int_equal(ymsg_session_find_buddy(s, "carol")->status, 2);
    assert_string_equal(ymsg_session_find_buddy(s, "dave")->group, "H");
    ymsg_session_free(s);
}

/* YMSG.md §9.3, byte for byte: the 0x57 reply, a STATUS_15 with one available buddy, the bad-password
 * 0x54 and the duplicate-login kick. */
static const uint8_t V_AUTH[] = {
    0x59, 0x4d, 0x53, 0x47, 0x00, 0x10, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x57, 0x00, 0x00, 0x00, 0x01, 0x00, 0x47,
    0xe1, 0x33, 0x31, 0xc0, 0x80, 0x61, 0x6c, 0x69, 0x63, 0x65, 0xc0, 0x80, 0x39, 0x34, 0xc0, 0x80, 0x67, 0x2e,
    0x34, 0x59, 0x35, 0x53, 0x4a, 0x5a, 0x36, 0x6e, 0x6b, 0x46, 0x41, 0x6f, 0x55, 0x66, 0x71, 0x4b, 0x4d, 0x48,
    0x47, 0x62, 0x76, 0x49, 0x41, 0x73, 0x53, 0x6a, 0x48, 0x34, 0x5a, 0x55, 0x57, 0x56, 0x71, 0x63, 0x70, 0x67,
    0x2d, 0x2d, 0xc0, 0x80, 0x31, 0x33, 0xc0, 0x80, 0x32, 0xc0, 0x80};
static const uint8_t V_STATUS15[] = {
    0x59, 0x4d, 0x53, 0x47, 0x00, 0x10, 0x00, 0x00, 0x00, 0x3e, 0x00, 0xf0, 0x00, 0x00, 0x00, 0x01, 0x00, 0x47,
    0xe1, 0x33, 0x33, 0x30, 0x32, 0xc0, 0x80, 0x33, 0x31, 0x35, 0xc0, 0x80, 0x33, 0x30, 0x30, 0xc0, 0x80, 0x33,
    0x31, 0x35, 0xc0, 0x80, 0x37, 0xc0, 0x80, 0x62, 0x6f, 0x62, 0xc0, 0x80, 0x31, 0x30, 0xc0, 0x80, 0x30, 0xc0,
    0x80, 0x31, 0x33, 0xc0, 0x80, 0x31, 0xc0, 0x80, 0x33, 0x30, 0x31, 0xc0, 0x80, 0x33, 0x31, 0x35, 0xc0, 0x80,
    0x33, 0x30, 0x33, 0xc0, 0x80, 0x33, 0x31, 0x35, 0xc0, 0x80};
static const uint8_t V_BADPW[] = {0x59, 0x4d, 0x53, 0x47, 0x00, 0x10, 0x00, 0x00, 0x00, 0x08, 0x00, 0x54, 0xff, 0xff,
                                  0xff, 0xff, 0x00, 0x47, 0xe1, 0x33, 0x36, 0x36, 0xc0, 0x80, 0x31, 0x33, 0xc0, 0x80};
static const uint8_t V_KICK[] = {0x59, 0x4d, 0x53, 0x47, 0x00, 0x10, 0x00, 0x00, 0x00, 0x08, 0x00, 0x02, 0xff, 0xff,
                                 0xff, 0xff, 0x00, 0x47, 0xe1, 0x33, 0x36, 0x36, 0xc0, 0x80, 0x34, 0x32, 0xc0, 0x80};

static void test_reference_vectors(void **st)
{
    (void)st;
    struct ymsg_session *s = new_session(0);
    ymsg_session_start(s, 0);
    drain(s);
    ymsg_session_feed(s, V_AUTH, sizeof V_AUTH);
    assert_int_equal(ymsg_session_id(s), 0x0047E133);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_HTTP_GET);
    assert_non_null(strstr(ev->text, "&chal=" CHAL));
    ymsg_session_http_response(s, 200, "", 0, TOKEN_BODY, strlen(TOKEN_BODY));
    next_of(s, YMSG_EV_HTTP_GET);
    ymsg_session_http_response(s, 200, CRUMB_HEADERS, strlen(CRUMB_HEADERS), CRUMB_BODY, strlen(CRUMB_BODY));
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 307, "XNWI3fXT9Q9MrFsA40flsA--"); /* §9.3's key 307 for this crumb and challenge */
    ymsg_session_feed(s, V_STATUS15, sizeof V_STATUS15); /* status before any list: login is through */
    next_of(s, YMSG_EV_LOGGED_IN);
    ev = next_of(s, YMSG_EV_PRESENCE);
    assert_string_equal(ev->who, "bob");
    assert_int_equal(ev->on, 1);
    ymsg_session_feed(s, V_KICK, sizeof V_KICK);
    ev = next_of(s, YMSG_EV_KICKED);
    assert_int_equal(ev->code, 42);
    ymsg_session_free(s);
    s = new_session(0);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    ymsg_session_feed(s, V_BADPW, sizeof V_BADPW);
    expect_fail(s, 13, "bad password", 0);
    ymsg_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_flow),
        cmocka_unit_test(test_login_invisible),
        cmocka_unit_test(test_login_chunked_and_header_cookies),
        cmocka_unit_test(test_login_failures),
        cmocka_unit_test(test_list15_conventions),
        cmocka_unit_test(test_status15_split),
        cmocka_unit_test(test_old_presence_and_list),
        cmocka_unit_test(test_session_id_changes),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_typing_auth_kick),
        cmocka_unit_test(test_list_acks),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_timers),
        cmocka_unit_test(test_hostile_stream),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_raw_and_hook),
        cmocka_unit_test(test_reference_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
