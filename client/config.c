/* Settings: ~/.config/ymsg/config (XDG), then YMSG_SERVER / YMSG_LOGIN_URL, then flags, each layer
 * overriding the one before.  The file is "key = value" lines; '#' starts a comment. */
#include "client.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Copies of every string value taken from the file or the environment (opts points into them). */
struct cfg_store {
    char login_url[1024];         /* login_url */
    char ca_file[1024];           /* ca_file */
    char credentials[1024];       /* credentials */
    char account[YMSG_ID_MAX];    /* account */
    char history_dir[1024];       /* history_dir */
    char download_dir[1024];      /* download_dir */
};
static struct cfg_store store;

static int parse_bool(const char *v, int *out)
{
    if (!strcasecmp(v, "on") || !strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1"))
        *out = 1;
    else if (!strcasecmp(v, "off") || !strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0"))
        *out = 0;
    else
        return -1;
    return 0;
}

static int parse_num(const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

int config_server(struct opts *o, const char *v)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v || !colon[1] || (size_t)(colon - v) >= sizeof o->host || strlen(colon + 1) >= sizeof o->port)
        return -1;
    snprintf(o->host, sizeof o->host, "%.*s", (int)(colon - v), v);
    size_t hl = strlen(o->host);
    if (o->host[0] == '[' && hl > 2 && o->host[hl - 1] == ']') { /* [::1]:5050 */
        memmove(o->host, o->host + 1, hl);
        o->host[hl - 2] = 0;
    }
    snprintf(o->port, sizeof o->port, "%s", colon + 1);
    return 0;
}

static int set_str(char *dst, size_t cap, const char *v, const char **field)
{
    if (strlen(v) >= cap)
        return -1;
    snprintf(dst, cap, "%s", v);
    *field = dst;
    return 0;
}

int config_set(struct opts *o, const char *key, const char *v)
{
    long n = 0;
    int b = 0;
    if (!strcmp(key, "server"))
        return config_server(o, v);
    if (!strcmp(key, "login_url"))
        return set_str(store.login_url, sizeof store.login_url, v, &o->login_url);
    if (!strcmp(key, "ca_file"))
        return set_str(store.ca_file, sizeof store.ca_file, v, &o->ca_file);
    if (!strcmp(key, "credentials"))
        return set_str(store.credentials, sizeof store.credentials, v, &o->credentials);
    if (!strcmp(key, "account"))
        return set_str(store.account, sizeof store.account, v, &o->account);
    if (!strcmp(key, "history_dir"))
        return set_str(store.history_dir, sizeof store.history_dir, v, &o->history_dir);
    if (!strcmp(key, "download_dir"))
        return set_str(store.download_dir, sizeof store.download_dir, v, &o->download_dir);
    if (!strcmp(key, "history"))
        return parse_bool(v, &o->history) ? -1 : 0;
    if (!strcmp(key, "history_lines")) {
        if (parse_num(v, 0, 2000, &n)) /* a tab keeps 2000 lines (tui.h MAX_LINES) */
            return -1;
        o->history_lines = n;
        return 0;
    }
    if (!strcmp(key, "hide_offline"))
        return parse_bool(v, &o->hide_offline) ? -1 : 0;
    if (!strcmp(key, "bell"))
        return parse_bool(v, &o->bell) ? -1 : 0;
    if (!strcmp(key, "urgency"))
        return parse_bool(v, &o->urgency) ? -1 : 0;
    if (!strcmp(key, "invisible"))
        return parse_bool(v, &o->invisible) ? -1 : 0;
    if (!strcmp(key, "auto_away")) {
        if (parse_num(v, 0, 24 * 60, &n))
            return -1;
        o->auto_away_min = n;
        return 0;
    }
    if (!strcmp(key, "mouse")) {
        if (parse_bool(v, &b))
            return -1;
        o->mouse = b;
        return 0;
    }
    return -2;
}

void config_defaults(struct opts *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->host, sizeof o->host, "scs.msg.yahoo.com");
    snprintf(o->port, sizeof o->port, "5050");
    o->settle_ms = 800;
    o->history = 1;
    o->history_lines = 200;
    o->bell = 1;
    o->urgency = 1;
    o->mouse = 1;
}

/* $XDG_CONFIG_HOME/ymsg/config, else ~/.config/ymsg/config. */
int config_default_path(char *out, size_t cap)
{
    const char *x = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    int n;
    if (x && x[0] == '/')
        n = snprintf(out, cap, "%s/ymsg/config", x);
    else if (home && home[0])
        n = snprintf(out, cap, "%s/.config/ymsg/config", home);
    else
        return -1;
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int config_load(struct opts *o, const char *path, int must_exist)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT && !must_exist)
            return 0;
        fprintf(stderr, "ymsg: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[2048];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            continue;
        size_t n = strlen(p);
        while (n && isspace((unsigned char)p[n - 1]))
            p[--n] = 0;
        char *eq = strchr(p, '=');
        if (!eq) {
            fprintf(stderr, "ymsg: %s:%d: expected key = value\n", path, lineno);
            rc = -1;
            break;
        }
        char *k = p, *v = eq + 1, *ke = eq;
        while (ke > k && isspace((unsigned char)ke[-1]))
            ke--;
        *ke = 0;
        while (isspace((unsigned char)*v))
            v++;
        int r = config_set(o, k, v);
        if (r == -2) {
            fprintf(stderr, "ymsg: %s:%d: unknown setting '%s' (see ymsg(1), FILES)\n", path, lineno, k);
            rc = -1;
            break;
        }
        if (r) {
            fprintf(stderr, "ymsg: %s:%d: bad value for %s: '%s'\n", path, lineno, k, v);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

int config_env(struct opts *o)
{
    const char *v = getenv("YMSG_SERVER");
    if (v && *v && config_server(o, v)) {
        fprintf(stderr, "ymsg: YMSG_SERVER wants HOST:PORT, not '%s'\n", v);
        return -1;
    }
    v = getenv("YMSG_LOGIN_URL");
    if (v && *v && config_set(o, "login_url", v)) {
        fprintf(stderr, "ymsg: YMSG_LOGIN_URL is too long\n");
        return -1;
    }
    return 0;
}
