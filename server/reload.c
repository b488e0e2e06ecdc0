/* Run-time reconfiguration; see reload.h. */
#include "reload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "gateway.h"
#include "http.h"
#include "log.h"
#include "ratelimit.h"

static struct {
    struct server *srv;              /* the running server */
    struct gateway *gw;              /* its AMF gateway (crossdomain list), or NULL */
    const char *path;                /* --config FILE, or NULL */
    const struct reload_flag *flags; /* command-line flags, replayed over the file */
    size_t nflags;                   /* their number */
} g_reload;

void reload_init(struct server *srv, struct gateway *gw, const char *config_path, const struct reload_flag *flags,
                 size_t nflags)
{
    g_reload.srv = srv;
    g_reload.gw = gw;
    g_reload.path = config_path;
    g_reload.flags = flags;
    g_reload.nflags = nflags;
}

static int check_listen(const char *what, const char *list, int may_be_empty, size_t max, char *err, size_t errlen)
{
    size_t n = config_list_count(list);
    if (!n && !may_be_empty) {
        snprintf(err, errlen, "%s is empty", what);
        return -1;
    }
    if (n > max) {
        snprintf(err, errlen, "%s: at most %zu addresses", what, max);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char item[300], host[256];
        int port;
        if (config_list_item(list, i, item, sizeof item) < 0 ||
            config_split_hostport(item, host, sizeof host, &port) < 0) {
            snprintf(err, errlen, "%s: \"%.200s\" is not HOST:PORT", what, list);
            return -1;
        }
    }
    return 0;
}

/* Whether the log file can be opened for appending, without creating it. */
static int check_log_file(const char *path, char *err, size_t errlen)
{
    if (access(path, F_OK) == 0) {
        if (access(path, W_OK) == 0) return 0;
    } else {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash == dir) dir[1] = 0;
        else if (slash) *slash = 0;
        else snprintf(dir, sizeof dir, ".");
        if (access(dir, W_OK | X_OK) == 0) return 0;
    }
    snprintf(err, errlen, "log_file %.300s: %s", path, strerror(errno));
    return -1;
}

int server_check_config(const struct config *cfg, char *err, size_t errlen)
{
    if (log_level_parse(cfg->log_level) < 0) {
        snprintf(err, errlen, "log_level must be debug, info, warn or error (got \"%.40s\")", cfg->log_level);
        return -1;
    }
    if (cfg->log_file[0] && check_log_file(cfg->log_file, err, errlen) < 0) return -1;
    if (!cfg->data_dir[0]) {
        snprintf(err, errlen, "data_dir is empty");
        return -1;
    }
    if (check_listen("ymsg_listen", cfg->ymsg_listen, 0, SERVER_MAX_YMSG_LISTEN, err, errlen) < 0 ||
        check_listen("http_listen", cfg->http_listen, 1, 1, err, errlen) < 0 ||
        check_listen("https_listen", cfg->https_listen, 1, 1, err, errlen) < 0)
        return -1;
    if (!cfg->tls_cert[0] != !cfg->tls_key[0]) {
        snprintf(err, errlen, "%s is set but %s is not: HTTPS needs both", cfg->tls_cert[0] ? "tls_cert" : "tls_key",
                 cfg->tls_cert[0] ? "tls_key" : "tls_cert");
        return -1;
    }
    if (cfg->tls_cert[0]) {
        void *ctx = http_tls_load(cfg->tls_cert, cfg->tls_key, err, errlen);
        if (!ctx) return -1;
        http_tls_free(ctx);
    }
    if (gateway_crossdomain_check(cfg->amf_crossdomain, err, errlen) < 0) return -1;
    if (cfg->amf_max_body >= cfg->http_max_body) {
        snprintf(err, errlen, "amf_max_body (%ld) must be smaller than http_max_body (%ld)", cfg->amf_max_body,
                 cfg->http_max_body);
        return -1;
    }
    return 0;
}

/* Appends ", name" (or "name") to a report list, as far as it fits. */
static void list_add(char *list, size_t cap, const char *name)
{
    size_t n = strlen(list);
    if (n + strlen(name) + 3 < cap) snprintf(list + n, cap - n, "%s%s", n ? ", " : "", name);
}

static int differs(const struct config *a, const struct config *b, const char *name)
{
    for (size_t i = 0; i < config_knob_count(); i++)
        if (!strcmp(config_knob_name(i), name)) return !config_knob_equal(a, b, i);
    return 0;
}

int server_reload(struct server *srv, char *report, size_t cap)
{
    struct config nc;
    char err[512] = "";
    int bad = 0;
    config_defaults(&nc);
    if (g_reload.path && config_load_file(&nc, g_reload.path, err, sizeof err) < 0) bad = 1;
    for (size_t i = 0; !bad && i < g_reload.nflags; i++)
        if (config_set(&nc, g_reload.flags[i].key, g_reload.flags[i].value, err, sizeof err) < 0) bad = 1;
    if (!bad && server_check_config(&nc, err, sizeof err) < 0) bad = 1;
    /* The steps that can fail come first; nothing is applied until all of them succeeded. */
    int tls_live = http_tls_running(srv->http) && nc.tls_cert[0] && nc.tls_key[0];
    void *tls = NULL;
    if (!bad && tls_live && !(tls = http_tls_load(nc.tls_cert, nc.tls_key, err, sizeof err))) bad = 1;
    int new_cd = !bad && g_reload.gw &&
                 (differs(srv->cfg, &nc, "amf_crossdomain") || differs(srv->cfg, &nc, "amf_crossdomain_secure"));
    if (new_cd && gateway_set_crossdomain(g_reload.gw, nc.amf_crossdomain, nc.amf_crossdomain_secure, err,
                                          sizeof err) < 0)
        bad = 1;
    if (!bad && differs(srv->cfg, &nc, "log_file") && log_open_file(nc.log_file, err, sizeof err) < 0) {
        char ignored[256];
        if (new_cd) /* back to the document in use */
            gateway_set_crossdomain(g_reload.gw, srv->cfg->amf_crossdomain, srv->cfg->amf_crossdomain_secure, ignored,
                                    sizeof ignored);
        bad = 1;
    }
    if (bad) {
        if (tls) http_tls_free(tls);
        log_event(LOG_ERROR, NULL, NULL, "reload_refused", 0, "%s%s%s; the running configuration is kept", err,
                  g_reload.path ? " in " : "", g_reload.path ? g_reload.path : "");
        snprintf(report, cap, "refused: %s (the running configuration is kept)", err);
        config_free(&nc);
        return -1;
    }
    /* Both the old and the new level's lines get out while the changes are logged. */
    int old_lvl = log_level_parse(srv->cfg->log_level), new_lvl = log_level_parse(nc.log_level);
    log_set_level((enum log_level)(old_lvl < new_lvl ? old_lvl : new_lvl));
    char changed[512] = "", restart[512] = "";
    size_t nchanged = 0, nrestart = 0;
    int log_limits = 0;
    for (size_t i = 0; i < config_knob_count(); i++) {
        char was[160], now[160]; /* for the log line: long lists are cut there, not in the comparison */
        const char *name = config_knob_name(i);
        if (config_knob_equal(srv->cfg, &nc, i)) continue;
        config_knob_format(srv->cfg, i, was, sizeof was);
        config_knob_format(&nc, i, now, sizeof now);
        int live = config_knob_live(i);
        if (!strcmp(name, "tls_cert") || !strcmp(name, "tls_key")) live = tls_live; /* HTTPS on/off: restart */
        if (!live || config_knob_copy(srv->cfg, &nc, i) < 0) {
            log_event(LOG_WARN, NULL, NULL, "config_needs_restart", 0, "%s: %s -> %s (the running value stays)", name,
                      was, now);
            list_add(restart, sizeof restart, name);
            nrestart++;
            continue;
        }
        log_event(LOG_INFO, NULL, NULL, "config_changed", 0, "%s: %s -> %s", name, was, now);
        list_add(changed, sizeof changed, name);
        nchanged++;
        log_limits |= !strncmp(name, "log_", 4) && (strstr(name, "_rate") || strstr(name, "_burst"));
    }
    /* What modules copied at start gets the new values. */
    const struct config *cfg = srv->cfg;
    log_set_level((enum log_level)new_lvl);
    if (log_limits) {
        struct log_limits ll = {(double)cfg->log_conn_rate, (double)cfg->log_conn_burst, (double)cfg->log_addr_rate,
                                (double)cfg->log_addr_burst, (double)cfg->log_global_rate, (double)cfg->log_global_burst};
        log_set_limits(&ll);
    }
    srv->lim.max_pairs = (size_t)cfg->max_pairs;
    srv->conn_rl.rate = (double)cfg->conn_rate;
    srv->conn_rl.burst = (double)cfg->conn_burst;
    struct login_throttle *lt = auth_throttle(srv->auth);
    lt->cfg.rate = (double)cfg->login_rate;
    lt->cfg.burst = (double)cfg->login_burst;
    lt->cfg.fail_window = (double)cfg->fail_window;
    lt->cfg.addr_max_failures = (uint32_t)cfg->addr_max_failures;
    lt->cfg.account_max_failures = (uint32_t)cfg->account_max_failures;
    lt->cfg.lock_time = (double)cfg->account_lock_time;
    lt->cfg.lock_check_interval = (double)cfg->account_lock_check_interval;
    lt->addr.rate = (double)cfg->login_rate;
    lt->addr.burst = (double)cfg->login_burst;
    if (tls) {
        http_tls_swap(srv->http, tls);
        log_event(LOG_INFO, NULL, NULL, "tls_reloaded", 0, "%s", cfg->tls_cert);
    }
    log_event(LOG_INFO, NULL, NULL, "reloaded", (long)nchanged, "%zu changed%s%s%s, %zu need a restart%s%s%s", nchanged,
              nchanged ? " (" : "", changed, nchanged ? ")" : "", nrestart, nrestart ? " (" : "", restart,
              nrestart ? ")" : "");
    snprintf(report, cap, "reloaded: %zu changed%s%s%s, %zu need a restart%s%s%s%s", nchanged, nchanged ? " (" : "",
             changed, nchanged ? ")" : "", nrestart, nrestart ? " (" : "", restart, nrestart ? ")" : "",
             tls ? "; TLS certificate reloaded" : "");
    config_free(&nc);
    return 0;
}
