/* lib/ymsg/tables.c and errors.c: every table entry maps back to its name, no number is listed twice,
 * reverse look-ups, error texts. */
#include <strings.h>

#include "testutil.h"

struct entry {
    const char *ident; /* enum suffix */
    long long val;     /* number */
    const char *text;  /* display name */
};

#define ENTRY_(name, val, text) {#name, (long long)(val), text},
static const struct entry services[] = {YMSG_SERVICES(ENTRY_)};
static const struct entry keys[] = {YMSG_KEYS(ENTRY_)};
static const struct entry statuses[] = {YMSG_STATUSES(ENTRY_)};
static const struct entry login_codes[] = {YMSG_LOGIN_CODES(ENTRY_)};
static const struct entry auth_codes[] = {YMSG_AUTH_CODES(ENTRY_)};
static const struct entry result_codes[] = {YMSG_RESULT_CODES(ENTRY_)};
static const struct entry errors[] = {YMSG_ERRORS(ENTRY_)};
static const struct entry pkt_statuses[] = {YMSG_PKT_STATUSES(ENTRY_)};
#undef ENTRY_
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void no_duplicates(const struct entry *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (t[i].val == t[j].val)
                fail_msg("%s and %s share %lld", t[i].ident, t[j].ident, t[i].val);
            if (strcmp(t[i].ident, t[j].ident) == 0)
                fail_msg("%s listed twice", t[i].ident);
        }
}

static void test_services(void **state)
{
    (void)state;
    no_duplicates(services, N(services));
    for (size_t i = 0; i < N(services); i++) {
        assert_string_equal(ymsg_service_name((uint32_t)services[i].val), services[i].text);
        assert_string_equal(ymsg_service_ident((uint32_t)services[i].val), services[i].ident);
        assert_int_equal(ymsg_service_by_name(services[i].ident), services[i].val);
        assert_int_equal(ymsg_service_by_name(services[i].text), services[i].val);
        assert_true(services[i].val > 0 && services[i].val <= 0xFFFF); /* fits the u16 header field */
    }
    assert_int_equal(YMSG_SVC_AUTH, 0x57);
    assert_int_equal(YMSG_SVC_STATUS_15, 0xF0);
    assert_null(ymsg_service_name(0));
    assert_null(ymsg_service_name(0x21));
    assert_null(ymsg_service_ident(0xFFFF));
    assert_int_equal(ymsg_service_by_name("authresp"), 0x54);
    assert_int_equal(ymsg_service_by_name("message"), 0x06);
    assert_int_equal(ymsg_service_by_name("KEEP ALIVE"), 0x8A);
    assert_int_equal(ymsg_service_by_name("nope"), -1);
    assert_int_equal(ymsg_service_by_name(""), -1);
    assert_int_equal(ymsg_service_by_name(NULL), -1);
}

static void test_keys(void **state)
{
    (void)state;
    no_duplicates(keys, N(keys));
    for (size_t i = 0; i < N(keys); i++)
        assert_string_equal(ymsg_key_name((uint32_t)keys[i].val), keys[i].text);
    assert_null(ymsg_key_name(999999));
    assert_int_equal(YMSG_KEY_AUTH16_RESP, 307);
}

static void test_statuses(void **state)
{
    (void)state;
    no_duplicates(statuses, N(statuses));
    for (size_t i = 0; i < N(statuses); i++)
        assert_string_equal(ymsg_status_name((uint32_t)statuses[i].val), statuses[i].text);
    assert_string_equal(ymsg_status_name(0x5A55AA56), "Offline");
    assert_string_equal(ymsg_status_name(0xFFFFFFFF), "Disconnected / error");
    assert_null(ymsg_status_name(10));
}

static void test_packet_statuses(void **state)
{
    (void)state;
    no_duplicates(pkt_statuses, N(pkt_statuses));
    /* Every entry is named on a non-presence service, and the #define'd values agree with the table. */
    for (size_t i = 0; i < N(pkt_statuses); i++)
        assert_string_equal(ymsg_packet_status_name(YMSG_SVC_LIST_15, (uint32_t)pkt_statuses[i].val),
                            pkt_statuses[i].text);
    assert_string_equal(ymsg_packet_status_name(YMSG_SVC_LIST_15, YMSG_PKT_DEFAULT), "Default");
    assert_string_equal(ymsg_packet_status_name(YMSG_SVC_LIST_15, YMSG_PKT_SERVERACK), "Server Ack");
    assert_string_equal(ymsg_packet_status_name(YMSG_SVC_LIST_15, YMSG_PKT_CONTINUED), "Continued");
    assert_string_equal(ymsg_packet_status_name(YMSG_SVC_LOGOFF, YMSG_PKT_ERROR), "Error / disconnected");
    /* Service-specific ones only on their service. */
    assert_string_equal(ymsg_packet_status_name(YMSG_SVC_MESSAGE, YMSG_PKT_NOTSENT), "Not sent");
    assert_null(ymsg_packet_status_name(YMSG_SVC_LIST_15, YMSG_PKT_NOTSENT));
    assert_string_equal(ymsg_packet_status_name(YMSG_SVC_AUTH_REQ_15, YMSG_PKT_AUTHREQ), "Authorization request");
    assert_null(ymsg_packet_status_name(YMSG_SVC_MESSAGE, YMSG_PKT_AUTHREQ));
    /* Presence codes mean nothing as the status of other packets. */
    assert_null(ymsg_packet_status_name(YMSG_SVC_MESSAGE, YMSG_STATUS_CUSTOM));
    assert_null(ymsg_packet_status_name(YMSG_SVC_LIST_15, YMSG_STATUS_INVISIBLE));
    /* Presence packets: every presence code by its presence name. */
    static const uint32_t presence_svcs[] = {YMSG_SVC_LOGON, YMSG_SVC_ISAWAY, YMSG_SVC_ISBACK,
                                              YMSG_SVC_Y6_STATUS_UPDATE, YMSG_SVC_AUTHRESP, YMSG_SVC_AUTH};
    for (size_t j = 0; j < N(presence_svcs); j++)
        for (size_t i = 0; i < N(statuses); i++)
            assert_string_equal(ymsg_packet_status_name(presence_svcs[j], (uint32_t)statuses[i].val),
                                statuses[i].text);
    /* 0xF0: what servers send is a packet status, anything else an old client's presence code. */
    assert_string_equal(ymsg_packet_status_name(YMSG_SVC_STATUS_15, 5), "Continued");
    assert_string_equal(ymsg_packet_status_name(YMSG_SVC_STATUS_15, 1), "Server Ack");
    assert_string_equal(ymsg_packet_status_name(YMSG_SVC_STATUS_15, 12), "Invisible");
    assert_string_equal(ymsg_packet_status_name(YMSG_SVC_STATUS_15, 99), "Custom");
}

static void test_codes(void **state)
{
    (void)state;
    no_duplicates(login_codes, N(login_codes));
    no_duplicates(auth_codes, N(auth_codes));
    no_duplicates(result_codes, N(result_codes));
    for (size_t i = 0; i < N(login_codes); i++)
        assert_string_equal(ymsg_login_code_name((int)login_codes[i].val), login_codes[i].text);
    for (size_t i = 0; i < N(auth_codes); i++)
        assert_string_equal(ymsg_auth_code_name((int)auth_codes[i].val), auth_codes[i].text);
    for (size_t i = 0; i < N(result_codes); i++)
        assert_string_equal(ymsg_result_code_name((int)result_codes[i].val), result_codes[i].text);
    assert_null(ymsg_login_code_name(-1));
    assert_null(ymsg_auth_code_name(-1));
    assert_null(ymsg_result_code_name(-1));
    assert_string_equal(ymsg_login_code_name(1212), "wrong password");
    assert_string_equal(ymsg_auth_code_name(42), "signed in from another location");
}

static void test_errors(void **state)
{
    (void)state;
    no_duplicates(errors, N(errors));
    for (size_t i = 0; i < N(errors); i++) {
        assert_true(errors[i].val < 0);
        assert_string_equal(ymsg_strerror((int)errors[i].val), errors[i].text);
    }
    assert_string_equal(ymsg_strerror(0), "success");
    assert_string_equal(ymsg_strerror(-1000), "unknown error");
    assert_string_equal(ymsg_strerror(5), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_services), cmocka_unit_test(test_keys),   cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_packet_statuses),
        cmocka_unit_test(test_codes),    cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
