/* Name look-ups for the protocol tables (§2–4).  Each function is a switch generated from the table's
 * X-macro in ymsg.h: the compiler turns it into a jump table or a binary search, and a number listed
 * twice in one table is a compile error ("duplicate case value"), so the tables stay unambiguous. */
#include <strings.h>

#include "ymsg/ymsg.h"

#define YMSG_CASE_TEXT_(name, val, text) \
    case val:                             \
        return text;
#define YMSG_CASE_IDENT_(name, val, text) \
    case val:                              \
        return #name;

const char *ymsg_service_name(uint32_t service)
{
    switch (service) {
        YMSG_SERVICES(YMSG_CASE_TEXT_)
    default:
        return NULL;
    }
}

const char *ymsg_service_ident(uint32_t service)
{
    switch (service) {
        YMSG_SERVICES(YMSG_CASE_IDENT_)
    default:
        return NULL;
    }
}

const char *ymsg_key_name(uint32_t key)
{
    switch (key) {
        YMSG_KEYS(YMSG_CASE_TEXT_)
    default:
        return NULL;
    }
}

const char *ymsg_status_name(uint32_t status)
{
    switch (status) {
        YMSG_STATUSES(YMSG_CASE_TEXT_)
    default:
        return NULL;
    }
}

static const char *pkt_status_name(uint32_t service, uint32_t status)
{
#define YMSG_CASE_SVC_(svc, name, val, text) \
    if (service == (svc) && status == (val)) return text;
    YMSG_PKT_SERVICE_STATUSES(YMSG_CASE_SVC_)
#undef YMSG_CASE_SVC_
    switch (status) {
        YMSG_PKT_STATUSES(YMSG_CASE_TEXT_)
    default:
        return NULL;
    }
}

const char *ymsg_packet_status_name(uint32_t service, uint32_t status)
{
    switch (service) {
    case YMSG_SVC_LOGON:
    case YMSG_SVC_ISAWAY:
    case YMSG_SVC_ISBACK:
    case YMSG_SVC_Y6_STATUS_UPDATE:
    case YMSG_SVC_AUTHRESP:
    case YMSG_SVC_AUTH:
        return ymsg_status_name(status);
    case YMSG_SVC_STATUS_15:
        /* Servers send 0xF0 with packet statuses (5: more follow); old clients put a presence code. */
        if (status == YMSG_PKT_DEFAULT || status == YMSG_PKT_SERVERACK || status == YMSG_PKT_CONTINUED ||
            status == YMSG_PKT_ERROR)
            return pkt_status_name(service, status);
        return ymsg_status_name(status);
    default:
        return pkt_status_name(service, status);
    }
}

const char *ymsg_login_code_name(int code)
{
    switch (code) {
        YMSG_LOGIN_CODES(YMSG_CASE_TEXT_)
    default:
        return NULL;
    }
}

const char *ymsg_auth_code_name(int code)
{
    switch (code) {
        YMSG_AUTH_CODES(YMSG_CASE_TEXT_)
    default:
        return NULL;
    }
}

const char *ymsg_result_code_name(int code)
{
    switch (code) {
        YMSG_RESULT_CODES(YMSG_CASE_TEXT_)
    default:
        return NULL;
    }
}

/* The reverse look-up is rare (command-line filters), so a linear scan of a generated array is fine. */
struct svc_entry {
    const char *ident; /* enum suffix, e.g. "AUTHRESP" */
    const char *text;  /* display name, e.g. "Authentication response" */
    uint32_t val;      /* service number */
};

static const struct svc_entry svc_entries[] = {
#define YMSG_SVC_ENTRY_(name, val, text) {#name, text, val},
    YMSG_SERVICES(YMSG_SVC_ENTRY_)
#undef YMSG_SVC_ENTRY_
};

long ymsg_service_by_name(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof svc_entries / sizeof svc_entries[0]; i++)
        if (strcasecmp(name, svc_entries[i].ident) == 0 || strcasecmp(name, svc_entries[i].text) == 0)
            return (long)svc_entries[i].val;
    return -1;
}
