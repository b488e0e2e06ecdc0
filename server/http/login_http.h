/* HTTP side of the YMSG16 token login (YMSG.md §5.0–5.1, §13.2): /capacity,
 * /config/pwtoken_get and /config/pwtoken_login. */
#ifndef YMSGD_LOGIN_HTTP_H
#define YMSGD_LOGIN_HTTP_H

struct server;
struct http_server;

int login_http_register(struct http_server *hs, struct server *srv);

#endif
