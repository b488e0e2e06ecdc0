/* The chat room list over HTTP; see ycontent.h.  The XML itself is chat_list_xml() (pager/chat.h). */
#include "ycontent.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>

#include "chat.h"
#include "http.h"
#include "server.h"

static void ycontent_get(struct evhttp_request *req, const char *path, const char *query, void *arg)
{
    (void)path;
    struct server *srv = arg;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        const char *m = "method not allowed\n";
        http_reply(req, 405, "Method Not Allowed", "text/plain", m, strlen(m));
        return;
    }
    if (!srv->chat) {
        const char *m = "no chat rooms\n";
        http_reply(req, 404, "Not Found", "text/plain", m, strlen(m));
        return;
    }
    char *xml = NULL;
    size_t len = 0;
    int code = chat_list_xml(srv->chat, query ? query : "", (long)time(NULL), &xml, &len);
    if (code == 200) {
        http_reply(req, 200, "OK", "text/xml; charset=utf-8", xml, len);
    } else if (code == 400) {
        const char *m = "expected ?chatcat=0 or ?chatroom_ID=0\n";
        http_reply(req, 400, "Bad Request", "text/plain", m, strlen(m));
    } else {
        const char *m = "out of memory\n";
        http_reply(req, 503, "Service Unavailable", "text/plain", m, strlen(m));
    }
    free(xml);
}

int ycontent_register(struct http_server *hs, struct server *srv)
{
    if (http_register(hs, "/ycontent/", ycontent_get, srv) < 0 || http_register(hs, "/ycontent", ycontent_get, srv) < 0)
        return -1;
    return 0;
}
