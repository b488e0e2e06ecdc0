/* Static files for the browser apps; see static.h. */
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "relay.h"
#include "server.h"
#include "static_paths.h"

struct static_state {
    struct server *srv;        /* config */
    char root[4096];           /* web root in use ("" = none found) */
    int rootfd;                /* open directory of root, or -1 */
};

static struct static_state static_st = {.rootfd = -1};

static const struct {
    const char *ext;           /* file name suffix */
    const char *type;          /* Content-Type sent */
} static_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".wasm", "application/wasm"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
};

const char *static_content_type(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof static_types / sizeof static_types[0]; i++) {
        size_t e = strlen(static_types[i].ext);
        if (n > e && strcmp(name + n - e, static_types[i].ext) == 0) return static_types[i].type;
    }
    return NULL;
}

/* Directories that are served, each by its index.html. */
static const char *const static_dirs[] = {"messenger", "phonebook", "assets"};

int static_map_path(const char *path, char *out, size_t cap)
{
    if (!path || path[0] != '/' || cap < 16) return -1;
    const char *p = path + 1;
    size_t n = strlen(p);
    if (n + sizeof "index.html" >= cap) return -1;
    /* Conservative character set: what web/www uses, nothing that needs decoding. */
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                 c == '_' || c == '.' || c == '/';
        if (!ok) return -1;
        /* every segment: non-empty, not starting with '.' (no "..", no dot-files) */
        if ((i == 0 || p[i - 1] == '/') && (c == '.' || c == '/')) return -1;
    }
    for (size_t i = 0; i < sizeof static_dirs / sizeof static_dirs[0]; i++)
        if (strcmp(p, static_dirs[i]) == 0) return 1;
    memcpy(out, p, n);
    if (n == 0 || p[n - 1] == '/') {
        memcpy(out + n, "index.html", sizeof "index.html");
    } else {
        out[n] = 0;
    }
    return 0;
}

static int static_dir_ok(const char *dir)
{
    char probe[4200];
    struct stat st;
    snprintf(probe, sizeof probe, "%s/assets", dir);
    return dir[0] && stat(probe, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Whether this process's executable lies in the build tree it was built in (an installed copy, or a
 * packaged one, must not serve a build tree that happens to exist on the machine). */
static int static_from_build(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 0;
    exe[n] = 0;
    return strncmp(exe, YMSGD_BUILD_ROOT, strlen(YMSGD_BUILD_ROOT)) == 0;
}

/* --web-root, else the build tree's web/www when ymsgd runs from that build, else the install
 * prefix's. */
static void static_pick_root(struct static_state *s)
{
    const char *cfg = s->srv->cfg->web_root;
    const char *cands[] = {cfg, YMSGD_WEB_BUILD_ROOT, YMSGD_WEB_INSTALL_ROOT};
    size_t first = cfg[0] ? 0 : static_from_build() ? 1 : 2, last = cfg[0] ? 1 : 3;
    s->root[0] = 0;
    for (size_t i = first; i < last; i++) {
        if (static_dir_ok(cands[i])) {
            snprintf(s->root, sizeof s->root, "%s", cands[i]);
            return;
        }
    }
}

static void static_fail(struct evhttp_request *req, int code, const char *reason, const char *text)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    http_reply(req, code, reason, "text/plain; charset=utf-8", text, strlen(text));
}

static void static_headers(struct evhttp_request *req, const char *type, const char *etag)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    long age = static_st.srv->cfg->web_cache_age;
    char cc[64];
    /* Pages always revalidate (ETag) so a new build is seen at once; assets may be cached a while. */
    if (strncmp(type, "text/html", 9) == 0 || age == 0)
        snprintf(cc, sizeof cc, "no-cache");
    else
        snprintf(cc, sizeof cc, "public, max-age=%ld", age);
    evhttp_add_header(h, "Cache-Control", cc);
    evhttp_add_header(h, "ETag", etag);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (strncmp(type, "text/html", 9) == 0) {
        /* Everything the pages use comes from this origin (wasm needs 'wasm-unsafe-eval'), but for
         * the file-transfer relay, a listener of its own the messenger uploads to and downloads from
         * at the relay's public URLs (relay_public_urls: checked at start to hold nothing that could
         * end the directive; the page takes the one its scheme allows, docs/FILE_TRANSFER.md). */
        char csp[1400];
        const char *pub = relay_public_urls(static_st.srv->relay);
        snprintf(csp, sizeof csp,
                 "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
                 "img-src 'self' data:; media-src 'self' data:; connect-src 'self'%s%s; "
                 "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
                 pub ? " " : "", pub ? pub : "");
        evhttp_add_header(h, "Content-Security-Policy", csp);
        evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    }
}

static void static_handle(struct evhttp_request *req, const char *path, const char *query, void *arg)
{
    struct static_state *s = arg;
    char rel[512], peer[64];
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        static_fail(req, 405, "Method Not Allowed", "GET or HEAD only\n");
        return;
    }
    int mr = static_map_path(path, rel, sizeof rel);
    if (mr == 1) {
        char loc[600];
        snprintf(loc, sizeof loc, "%s/", path);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc);
        static_fail(req, 301, "Moved Permanently", "moved\n");
        return;
    }
    const char *type = mr == 0 ? static_content_type(rel) : NULL;
    if (!type) {
        http_peer_addr(req, peer, sizeof peer);
        log_event(LOG_INFO, peer, NULL, "static_refused", 404, "%.200s", path);
        static_fail(req, 404, "Not Found", "not found\n");
        return;
    }
    if (s->rootfd < 0) {
        static_fail(req, 404, "Not Found", "the web apps are not installed (see --web-root)\n");
        return;
    }
    /* O_NOFOLLOW: a symlink placed in the root is not followed out of it. */
    int fd = openat(s->rootfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        static_fail(req, 404, "Not Found", "not found\n");
        return;
    }
    if (st.st_size > s->srv->cfg->web_max_file) {
        close(fd);
        http_peer_addr(req, peer, sizeof peer);
        log_event(LOG_WARN, peer, NULL, "static_too_large", 500, "%.200s: %lld bytes", path, (long long)st.st_size);
        static_fail(req, 500, "Internal Server Error", "file larger than --web-max-file\n");
        return;
    }
    char etag[64];
    snprintf(etag, sizeof etag, "\"%llx-%llx-%lx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
    static_headers(req, type, etag);
    const char *inm = evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match");
    if (inm && strstr(inm, etag)) {
        close(fd);
        evhttp_send_reply(req, 304, "Not Modified", NULL);
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", type);
    if (m == EVHTTP_REQ_HEAD) {
        char cl[32];
        snprintf(cl, sizeof cl, "%lld", (long long)st.st_size);
        evhttp_add_header(h, "Content-Length", cl);
        close(fd);
        evhttp_send_reply(req, 200, "OK", NULL);
        return;
    }
    struct evbuffer *buf = evbuffer_new();
    /* evbuffer_add_file takes the descriptor (closed on success and on failure). */
    if (!buf || (st.st_size > 0 && evbuffer_add_file(buf, fd, 0, st.st_size) != 0)) {
        if (buf) evbuffer_free(buf);
        else close(fd);
        static_fail(req, 500, "Internal Server Error", "cannot read the file\n");
        return;
    }
    if (st.st_size == 0) close(fd);
    evhttp_send_reply(req, 200, "OK", buf);
    evbuffer_free(buf);
}

int static_register(struct http_server *hs, struct server *srv, char *err, size_t errlen)
{
    static const char *const routes[] = {"/", "/index.html", "/messenger", "/messenger/*", "/phonebook",
                                         "/phonebook/*", "/assets", "/assets/*"};
    struct static_state *s = &static_st;
    s->srv = srv;
    static_pick_root(s);
    if (s->root[0]) s->rootfd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->rootfd < 0)
        log_event(LOG_WARN, NULL, NULL, "web_root_missing", 0, "no web root (%s%s%s): the browser apps answer 404",
                  srv->cfg->web_root[0] ? srv->cfg->web_root : YMSGD_WEB_BUILD_ROOT, srv->cfg->web_root[0] ? "" : ", ",
                  srv->cfg->web_root[0] ? "" : YMSGD_WEB_INSTALL_ROOT);
    else
        log_event(LOG_INFO, NULL, NULL, "web_root", 0, "%s", s->root);
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (http_register(hs, routes[i], static_handle, s) < 0) {
            snprintf(err, errlen, "static: cannot register %s", routes[i]);
            return -1;
        }
    }
    return 0;
}

void static_unregister(void)
{
    if (static_st.rootfd >= 0) close(static_st.rootfd);
    static_st.rootfd = -1;
}
