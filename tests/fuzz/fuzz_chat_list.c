/* libFuzzer harness: the chat-room configuration parser and the /ycontent/ room list (chat_parse,
 * chat_list_xml; server/pager/chat.c).  First byte even: the rest is a rooms file; when it parses, the
 * category list, every category's rooms and the root's (OY's ?chatroom_<time>) are produced and must be
 * well-formed (balanced tags, every '&' an entity).  First byte odd: the rest is a /ycontent/ query against the default rooms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_check_xml(const char *x, size_t len)
{
    if (strlen(x) != len) abort(); /* no NUL inside */
    if (strncmp(x, "<content time=\"", 15) != 0 || !strstr(x, "</content>")) abort();
    for (const char *p = x; (p = strchr(p, '&')); p++)
        if (strncmp(p, "&amp;", 5) && strncmp(p, "&lt;", 4) && strncmp(p, "&gt;", 4) && strncmp(p, "&quot;", 6) &&
            strncmp(p, "&apos;", 6))
            abort();
    size_t open = 0, close = 0;
    for (const char *p = x; *p; p++) {
        if (*p == '<') open++;
        if (*p == '>') close++;
    }
    if (open != close) abort(); /* a raw '<' or '>' from a name would break the balance */
}

static void fz_query(const struct chat *ch, const char *q)
{
    char *xml = NULL;
    size_t len = 0;
    int code = chat_list_xml(ch, q, 1700000000, &xml, &len);
    if (code == 200) fz_check_xml(xml, len);
    else if (code != 400 && code != -1) abort();
    free(xml);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    char err[256];
    if ((data[0] & 1) == 0) {
        struct chat *ch = chat_parse((const char *)data + 1, size - 1, err, sizeof err);
        if (!ch) {
            if (!err[0]) abort(); /* a refusal always says why */
            return 0;
        }
        fz_query(ch, "chatcat=0&intl=us");
        fz_query(ch, "chatroom_1700000000"); /* OY's root category (the list's time): every room with its lobby */
        for (unsigned id = 1600000001u; id < 1600000001u + 8; id++) {
            char q[64];
            snprintf(q, sizeof q, "chatroom_%u=0&intl=us", id);
            fz_query(ch, q);
        }
        chat_free(ch);
        return 0;
    }
    static struct chat *def;
    if (!def && !(def = chat_parse(NULL, 0, err, sizeof err))) abort();
    char *q = malloc(size);
    if (!q) return 0;
    memcpy(q, data + 1, size - 1);
    q[size - 1] = 0;
    fz_query(def, q);
    free(q);
    return 0;
}
