/* Static files for the browser apps (web/): GET/HEAD on /, /index.html, /messenger/, /phonebook/ and
 * /assets/ from the web root (--web-root; by default the build tree's web/www when ymsgd runs from a
 * build, else <datadir>/ymsg/www).  Only known file types are served, with their content type, an
 * ETag and a Cache-Control; paths with "..", dot-files, percent escapes or odd characters are
 * refused; files over --web-max-file are refused. */
#ifndef YMSGD_STATIC_H
#define YMSGD_STATIC_H

#include <stddef.h>

struct http_server;
struct server;

/* Registers the routes.  Returns 0, or -1 (message in err) when the route table is full.  A missing
 * web root is not fatal: it is logged and the routes answer 404 with the reason. */
int static_register(struct http_server *hs, struct server *srv, char *err, size_t errlen);
void static_unregister(void);

/* Pure helpers (unit-tested):
 * Maps a request path to a file path relative to the web root ("/" -> "index.html",
 * "/phonebook/" -> "phonebook/index.html").  Returns 0, -1 when refused (traversal, dot-file,
 * escape, bad character, too long), or 1 when the path names a directory without its slash
 * ("/phonebook": the caller redirects to path + "/"). */
int static_map_path(const char *path, char *out, size_t cap);
/* Content type for a file name by extension, NULL when the type is not served. */
const char *static_content_type(const char *name);

#endif
