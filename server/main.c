/* ymsgd: the YMSG-compatible server.  Command line, user administration and start-up; the protocol
 * lives in conn.c (state machine), login_*.c, presence.c, im.c and buddy.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "admin.h"
#include "auth.h"
#include "gateway.h"
#include "config.h"
#include "chat.h"
#include "cluster.h"
#include "conf.h"
#include "conn.h"
#include "filexfer.h"
#include "http.h"
#include "linger.h"
#include "log.h"
#include "notify.h"
#include "observe.h"
#include "relay.h"
#include "static.h"
#include "ws.h"
#include "ycontent.h"
#include "login_http.h"
#include "reload.h"
#include "server.h"
#include "store.h"
#include "store_async.h"
#include "store_metrics.h"

#define YMSGD_VERSION YMSG_PACKAGE_VERSION /* meson project(version:) */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ymsgd [OPTIONS]                   run the server\n"
            "       ymsgd [OPTIONS] user add NAME     create an account (password read from stdin)\n"
            "       ymsgd [OPTIONS] user passwd NAME  change a password (read from stdin)\n"
            "       ymsgd [OPTIONS] user del NAME     delete an account and everything it owns\n"
            "       ymsgd [OPTIONS] user list         list accounts\n"
            "       ymsgd [OPTIONS] ctl [--json] COMMAND [ARG]  control the server running on the data directory:\n"
            "                 online | kick USER | broadcast TEXT | unlock USER | stats | reload | backup FILE\n"
            "                 | ping | help  (--json: one JSON object on stdout)\n"
            "       ymsgd [OPTIONS] --check-config [FILE]  check the configuration (FILE, else --config) and exit\n"
            "                 0 when it is valid, 1 when it is not\n"
            "\n"
            "Signals: SIGHUP reloads the config file (what can change at run time; the rest is logged as needing\n"
            "a restart; an invalid file changes nothing), SIGUSR1 reopens the log file, SIGTERM/SIGINT stop.\n"
            "\n"
            "Options (each may also be given as `key = value` in the --config file; flags win):\n"
            "  --config FILE            read settings from FILE (a # after a blank starts a comment)\n"
            "  --help                   this text\n"
            "  --version                print the version\n"
            "  --print-config-example   print a config file with every key commented (flags given set theirs)\n");
    config_usage(f);
    fprintf(f, "\nSee ymsgd(8).\n");
}

/* Reads one password line from stdin (no echo on a terminal).  Returns 0 or -1. */
static int read_password(char *buf, size_t cap)
{
    struct termios old, noecho;
    int tty = isatty(STDIN_FILENO);
    if (tty) {
        fprintf(stderr, "password: ");
        tcgetattr(STDIN_FILENO, &old);
        noecho = old;
        noecho.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho);
    }
    char *r = fgets(buf, (int)cap, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fprintf(stderr, "\n");
    }
    if (!r) return -1;
    buf[strcspn(buf, "\r\n")] = 0;
    return buf[0] ? 0 : -1;
}

static void print_name(void *arg, const char *name)
{
    (void)arg;
    printf("%s\n", name);
}

/* After a password change or a deletion: a running server on the same data directory ends the
 * user's sessions (YMSG, AMF, tokens, cookies) through its control socket.  With no server running
 * the store change is all there is to do. */
static int revoke_running(const struct config *cfg, const char *name, int quiet)
{
    char line[64], out[512];
    snprintf(line, sizeof line, "revoke %s", name);
    int rc = admin_request(cfg->data_dir, line, out, sizeof out, 10);
    if (rc == -1 || (rc == 0 && quiet)) return 0;
    if (rc == 0) {
        printf("ymsgd: running server: %s\n", out + 3); /* "revoked NAME ymsg=… amf=… …" */
        return 0;
    }
    fprintf(stderr, "ymsgd: the account was changed, but the running server could not end %s's sessions: %s\n",
            name, out);
    return 1;
}

static int cmd_user(struct config *cfg, struct store *st, int argc, char **argv)
{
    char name[NAME_MAX_LEN + 1], pw[1024], hash[256], p[32], c[32];
    if (argc >= 1 && !strcmp(argv[0], "list")) return st->user_list(st, print_name, NULL) < 0;
    if (argc != 2 || (strcmp(argv[0], "add") && strcmp(argv[0], "del") && strcmp(argv[0], "passwd"))) {
        fprintf(stderr, "ymsgd: user add|del|passwd NAME, or user list\n");
        return 2;
    }
    if (name_normalize(argv[1], strlen(argv[1]), name) < 0) {
        fprintf(stderr, "ymsgd: invalid id \"%s\" (1-32 of a-z 0-9 . _ -, starting with a letter or digit)\n", argv[1]);
        return 2;
    }
    if (!strcmp(argv[0], "del")) {
        /* Revoked first, while the buddy lists still say who watches the user (so they see the sign-off),
         * then again after the deletion for a session that came in between. */
        if (st->user_exists(st, name) == 1 && revoke_running(cfg, name, 0)) return 1;
        int rc = st->user_del(st, name);
        if (rc == STORE_NOTFOUND) fprintf(stderr, "ymsgd: no such user %s\n", name);
        return rc != STORE_OK || revoke_running(cfg, name, 1);
    }
    if (read_password(pw, sizeof pw) < 0) {
        fprintf(stderr, "ymsgd: no password on stdin\n");
        return 2;
    }
    int rc = auth_hash_password(cfg, pw, cfg->legacy_auth, hash, p, c);
    sodium_memzero(pw, sizeof pw);
    if (rc < 0) {
        fprintf(stderr, "ymsgd: password hashing failed (memlimit too high?)\n");
        return 1;
    }
    if (!strcmp(argv[0], "add")) rc = st->user_add(st, name, hash, p, c);
    else rc = st->user_set_password(st, name, hash, p, c);
    if (rc == STORE_EXISTS) fprintf(stderr, "ymsgd: user %s exists\n", name);
    if (rc == STORE_NOTFOUND) fprintf(stderr, "ymsgd: no such user %s\n", name);
    if (rc == STORE_OK && !strcmp(argv[0], "passwd")) return revoke_running(cfg, name, 0);
    return rc != STORE_OK;
}

/* First start: two demo accounts that are each other's buddies, credentials printed once. */
static void make_demo_accounts(struct config *cfg, struct store *st)
{
    static const char *const names[2] = {"demo", "demo2"};
    char pw[2][32];
    for (int i = 0; i < 2; i++) {
        char hash[256], p[32], c[32];
        auth_random_text(pw[i], sizeof pw[i], 9);
        if (auth_hash_password(cfg, pw[i], cfg->legacy_auth, hash, p, c) < 0 ||
            st->user_add(st, names[i], hash, p, c) != STORE_OK) {
            log_event(LOG_ERROR, NULL, names[i], "demo_account_failed", 1, NULL);
            return;
        }
    }
    st->buddy_add(st, "demo", "demo2", "Friends", 0);
    st->buddy_add(st, "demo2", "demo", "Friends", 0);
    int pb = gateway_demo_phonebook(st, "demo", "demo2"); /* the seed's "user admin, password 1234" demo */
    printf("ymsgd: first start: created demo accounts (each other's buddies)\n"
           "  user demo   password %s\n"
           "  user demo2  password %s\n"
           "  pager (YMSG) %s, token login and /capacity on http://%s\n"
           "%s%s%s",
           pw[0], pw[1], cfg->ymsg_listen, cfg->http_listen, pb ? "" : "  web phonebook http://",
           pb ? "" : cfg->http_listen, pb ? "" : "/phonebook/ : demo's lists demo2 (Pidgin shows it as demo2's alias)\n");
    fflush(stdout);
    sodium_memzero(pw, sizeof pw);
}

static struct server g_srv;

static void exit_when_drained(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    if (srv->nconns == 0 && ws_flushing() == 0) event_base_loopbreak(srv->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct server *srv = arg;
    if (srv->stopping) {
        event_base_loopbreak(srv->base);
        return;
    }
    srv->stopping = 1;
    notify_stopping(srv); /* STOPPING=1 to systemd */
    log_event(LOG_INFO, NULL, NULL, "shutdown", (long)sig, "stop accepting, flushing sessions");
    conn_stop_listening(srv);
    auth_shutdown(srv->auth); /* pending password checks hold evhttp requests: drop them first */
    /* Connections stay until the loop ends: a WebSocket over TLS lives in evhttp's connection, and
     * freeing that now would take the socket before its close frame (1001) is written. */
    http_stop_listening(srv->http);
    /* Flush every session's queued output, then leave; give up after 2 s. */
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&srv->online, &pos, &k, &v)) {
        conn_close(v, 1, "shutdown");
        pos = 0;
    }
    struct timeval tick = {0, 50000}, limit = {2, 0};
    srv->drain_check = event_new(srv->base, -1, EV_PERSIST, exit_when_drained, srv);
    if (srv->drain_check) event_add(srv->drain_check, &tick);
    event_base_loopexit(srv->base, &limit);
}

/* SIGHUP and `ymsgd ctl reload`: the one place a reload happens (service-manager notifications go
 * around server_reload() here). */
static int main_reload(struct server *srv, char *report, size_t cap)
{
    notify_reloading(srv); /* RELOADING=1 to systemd, READY=1 once applied or refused */
    int rc = server_reload(srv, report, cap);
    notify_reloaded(srv);
    return rc;
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    char report[1024];
    main_reload(arg, report, sizeof report); /* logs what it did */
}

/* SIGUSR1: logrotate renamed the log file; write to a new one under the configured name. */
static void on_usr1(evutil_socket_t sig, short what, void *arg)
{
    char err[512];
    if (log_reopen(err, sizeof err) < 0) log_event(LOG_ERROR, NULL, NULL, "log_reopen_failed", 0, "%s", err);
    else log_event(LOG_INFO, NULL, NULL, "log_reopened", 0, NULL);
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    auth_sweep(srv->auth);
    rl_sweep(&srv->conn_rl, 1.0, rl_now());
    conf_sweep(srv);
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void count_cb(void *arg, const char *name)
{
    (void)name;
    (*(int *)arg)++;
}

/* One server per data directory: an exclusive flock on DIR/ymsgd.lock, held (fd left open) until exit.
 * The `user` commands do not take it: they may run next to the server.  Returns 0, or -1 with err. */
static int lock_data_dir(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "data directory %.300s: %s", dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/ymsgd.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            snprintf(err, errlen, "another ymsgd is already running on data directory %.150s (%.200s is locked)", dir, path);
        else snprintf(err, errlen, "%.300s: cannot lock: %s", path, strerror(e));
        return -1;
    }
    return 0;
}

/* Undoes a first start that failed: the database files it created (nothing else has used them). */
static void remove_new_database(const struct config *cfg)
{
    const char *dir = cfg->data_dir;
    if (store_is_postgres(cfg->store)) return; /* a shared database: its schema is harmless, keep it */
    static const char *const names[] = {"ymsgd.db", "ymsgd.db-wal", "ymsgd.db-shm"};
    char path[4096];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
}

static const char *g_config_path;      /* --config FILE, for reloads */
static struct reload_flag g_flags[64]; /* command-line knobs, replayed over the file on reload */
static size_t g_nflags;                /* entries used */

static int run_server(struct config *cfg)
{
    struct server *srv = &g_srv;
    char err[512];
    int created = 0;
    srv->cfg = cfg;
    ymsg_limits_default(&srv->lim);
    srv->lim.max_body = (size_t)cfg->max_packet;
    srv->lim.max_pairs = (size_t)cfg->max_pairs;
    hmap_init(&srv->online);
    srv->t0 = rl_now();
    rl_init(&srv->conn_rl, (size_t)cfg->max_tracked, (double)cfg->conn_rate, (double)cfg->conn_burst);
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    if (cfg->log_file[0] && log_open_file(cfg->log_file, err, sizeof err) < 0) {
        fprintf(stderr, "ymsgd: %s\n", err);
        return 1;
    }
    /* The epoll change list merges the add/remove of write interest that every queued packet causes
     * within one loop iteration into at most one epoll_ctl. */
    struct event_config *ecfg = event_config_new();
    if (ecfg) event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    srv->base = ecfg ? event_base_new_with_config(ecfg) : event_base_new();
    if (ecfg) event_config_free(ecfg);
    if (!srv->base || !(srv->auth = auth_new(srv))) {
        fprintf(stderr, "ymsgd: out of memory\n");
        return 1;
    }
    /* Repeated log events are summarised; libevent's own messages go through the same limiter. */
    struct log_limits ll = {(double)cfg->log_conn_rate, (double)cfg->log_conn_burst, (double)cfg->log_addr_rate,
                            (double)cfg->log_addr_burst, (double)cfg->log_global_rate, (double)cfg->log_global_burst};
    log_set_limits(&ll);
    if (log_attach(srv->base) < 0) {
        fprintf(stderr, "ymsgd: out of memory\n");
        return 1;
    }
    /* Signal handlers before anything listens: a SIGTERM that arrives once the ports answer waits for the
     * loop instead of killing us between creating the demo accounts and printing their passwords. */
    srv->sig_int = evsignal_new(srv->base, SIGINT, on_signal, srv);
    srv->sig_term = evsignal_new(srv->base, SIGTERM, on_signal, srv);
    evsignal_add(srv->sig_int, NULL);
    evsignal_add(srv->sig_term, NULL);
    /* SIGHUP's default action ends the process (logrotate and `systemctl reload` send it). */
    struct event *sig_hup = evsignal_new(srv->base, SIGHUP, on_hup, srv);
    struct event *sig_usr1 = evsignal_new(srv->base, SIGUSR1, on_usr1, srv);
    if (!sig_hup || !sig_usr1 || evsignal_add(sig_hup, NULL) < 0 || evsignal_add(sig_usr1, NULL) < 0) {
        fprintf(stderr, "ymsgd: cannot install the SIGHUP/SIGUSR1 handlers\n");
        return 1;
    }
    struct gateway *gw = NULL;
    struct observe *obs = NULL; /* /metrics, /healthz, /readyz: open through the drain (/readyz says 503) */
    /* Lock, database, listeners; the demo accounts only once everything listens.  The database is ready
     * before the ports answer (`user add` right after start must not race the schema creation), and a
     * first start that cannot listen removes the database it just created, so the demo accounts and
     * their printed passwords come with the first start that really serves. */
    if (lock_data_dir(cfg->data_dir, err, sizeof err) < 0 ||
        !(srv->st = store_open(cfg->store, cfg->data_dir, &created, err, sizeof err))) {
        fprintf(stderr, "ymsgd: %s\n", err);
        return 1;
    }
    if (store_is_postgres(cfg->store)) {
        /* The store worker's own connection: writes queued by the loop run there (store_async.h). */
        int again = 0;
        struct store *wst = store_open(cfg->store, cfg->data_dir, &again, err, sizeof err);
        if (!wst || !(srv->sa = store_async_new(srv->base, wst, (size_t)cfg->store_queue_max))) {
            if (wst) wst->close(wst);
            fprintf(stderr, "ymsgd: %s\n", wst ? "out of memory (store worker)" : err);
            srv->st->close(srv->st);
            return 1;
        }
        /* From here on the loop's own calls come after the jobs it queued (one order per node). */
        struct store *ordered = store_async_ordered(srv->sa, srv->st);
        if (!ordered) {
            fprintf(stderr, "ymsgd: out of memory (store worker)\n");
            store_async_free(srv->sa);
            srv->st->close(srv->st);
            return 1;
        }
        srv->st = ordered;
    }
    store_metrics_wrap(srv->st); /* store latency for /metrics (around the ordered store on PostgreSQL) */
    /* Before the listeners: a bad setting stops the start before anything answers. */
    if (auth_pwcache_start(srv->auth, err, sizeof err) < 0 || /* the hash cache's key (data_dir exists now) */
        cluster_start(srv, err, sizeof err) < 0) { /* --redis: one node of a cluster */
        fprintf(stderr, "ymsgd: %s\n", err);
        store_async_free(srv->sa);
        srv->st->close(srv->st);
        if (created) remove_new_database(cfg);
        return 1;
    }
    if (!(srv->chat = chat_new(srv, err, sizeof err))) { /* chat rooms: a bad chat_rooms_file stops the start */
        fprintf(stderr, "ymsgd: %s\n", err);
        store_async_free(srv->sa);
        srv->st->close(srv->st);
        if (created) remove_new_database(cfg);
        return 1;
    }
    if (conn_listen(srv, err, sizeof err) < 0 || !(srv->http = http_new(srv, err, sizeof err)) ||
        login_http_register(srv->http, srv) < 0 || ycontent_register(srv->http, srv) < 0 || !(gw = gateway_start(srv, err, sizeof err)) ||
        observe_register(srv->http, srv) < 0 || !(obs = observe_start(srv, err, sizeof err))) {
        fprintf(stderr, "ymsgd: %s\n", err);
        store_async_free(srv->sa);
        srv->st->close(srv->st);
        if (created) remove_new_database(cfg);
        return 1;
    }
    struct admin *adm = admin_start(srv, err, sizeof err); /* control socket: `user passwd|del` revoke through it */
    if (!adm) {
        fprintf(stderr, "ymsgd: %s\n", err);
        store_async_free(srv->sa);
        srv->st->close(srv->st);
        if (created) remove_new_database(cfg);
        return 1;
    }
    admin_set_reload(adm, main_reload);
    reload_init(srv, gw, g_config_path, g_flags, g_nflags);
    int users = 0;
    if (created && srv->st->user_list(srv->st, count_cb, &users) == 0 && users == 0) make_demo_accounts(cfg, srv->st);
    if (static_register(srv->http, srv, err, sizeof err) < 0 || /* the browser apps (web/) */
        ws_register(srv->http, srv, err, sizeof err) < 0 ||     /* YMSG over WebSocket at /ymsg */
        !(srv->relay = relay_new(srv, err, sizeof err))) {      /* file-transfer relay (docs/FILE_TRANSFER.md) */
        fprintf(stderr, "ymsgd: %s\n", err);
        store_async_free(srv->sa);
        srv->st->close(srv->st);
        if (created) remove_new_database(cfg);
        return 1;
    }
    ft_attach(srv);
    relay_set_holder_check(srv->relay, cluster_relay_live); /* a download another node holds (FILE_TRANSFER.md §4.1) */
    struct timeval sweep = {30, 0};
    srv->sweeper = event_new(srv->base, -1, EV_PERSIST, sweep_cb, srv);
    event_add(srv->sweeper, &sweep);
    log_event(LOG_INFO, NULL, NULL, "listening", 0, "ymsg=%s http=%s https=%s data=%s store=%s", cfg->ymsg_listen,
              cfg->http_listen[0] ? cfg->http_listen : "off",
              (cfg->tls_cert[0] && cfg->tls_key[0]) ? cfg->https_listen : "off", cfg->data_dir,
              store_is_postgres(cfg->store) ? "postgresql" : "sqlite");
    notify_ready(srv); /* READY=1 to systemd: every listener accepts from here on */
    event_base_dispatch(srv->base);
    observe_free(obs);
    admin_free(adm);
    conn_stop_listening(srv);
    conn_close_all(srv);
    cluster_stop(srv); /* after the sign-offs: they reach the other nodes */
    auth_shutdown(srv->auth);
    http_free(srv->http);
    relay_free(srv->relay);
    srv->relay = NULL;
    static_unregister();
    gateway_free(gw);
    chat_free(srv->chat); /* empty by now: every session left its rooms when it closed */
    srv->chat = NULL;
    auth_free(srv->auth);
    rl_free(&srv->conn_rl);
    store_async_free(srv->sa); /* the queued writes run to the end first */
    conf_free(srv);
    conn_reap(srv);            /* connections their callbacks held */
    hmap_free(&srv->online);
    hmap_free(&srv->watch); /* empty: every session left it when freed */
    event_free(srv->sweeper);
    if (srv->drain_check) event_free(srv->drain_check);
    event_free(srv->sig_int);
    event_free(srv->sig_term);
    event_free(sig_hup);
    event_free(sig_usr1);
    if (srv->reaper) event_free(srv->reaper);
    if (srv->flusher) event_free(srv->flusher);
    notify_free();
    linger_free_all(); /* not waited for: a client that keeps its socket open would hold the exit */
    log_detach();
    event_base_free(srv->base);
    srv->st->close(srv->st);
    log_event(LOG_INFO, NULL, NULL, "stopped", 0, NULL);
    return 0;
}

/* The `user` commands never create a database under a directory nobody named: `ymsgd user list` run from
 * the wrong place would leave a ./data/ymsgd.db behind, and the next start would find it and make no demo
 * accounts.  Only `user add` with an explicit data_dir creates one.  Returns the store or NULL (message
 * printed, *rc set). */
static struct store *open_store_for_cli(const struct config *cfg, const char *cmd, int *rc)
{
    char path[4096], err[512];
    struct stat sb;
    int created = 0;
    snprintf(path, sizeof path, "%s/ymsgd.db", cfg->data_dir);
    if (store_is_postgres(cfg->store)) {
        /* A named PostgreSQL database is the operator's choice: open (and migrate) it for any command. */
    } else if (stat(path, &sb) < 0) {
        if (!cfg->data_dir_set) {
            fprintf(stderr, "ymsgd: no database at %s: give the server's --data-dir DIR (or data_dir in --config)\n",
                    path);
            *rc = 2;
            return NULL;
        }
        if (strcmp(cmd, "add") != 0) {
            fprintf(stderr, "ymsgd: no database at %s (no accounts yet; `user add` creates it)\n", path);
            *rc = 1;
            return NULL;
        }
    }
    struct store *st = store_open(cfg->store, cfg->data_dir, &created, err, sizeof err);
    if (!st) {
        fprintf(stderr, "ymsgd: %s\n", err);
        *rc = 1;
    }
    return st;
}

/* JSON string literal of s (UTF-8 passes through; quotes, backslashes and control bytes escaped). */
static void json_str(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

/* A control-socket data line as JSON: an object when every word is key=value (a number stays a
 * number), else a string. */
static void json_item(FILE *f, const char *line, size_t n)
{
    int kv = n > 0;
    for (size_t i = 0, w = 0; i <= n && kv; i++) {
        if (i == n || line[i] == ' ') {
            if (i == w || !memchr(line + w, '=', i - w) || line[w] == '=') kv = 0;
            w = i + 1;
        }
    }
    if (!kv) {
        json_str(f, line, n);
        return;
    }
    fputc('{', f);
    for (size_t w = 0, first = 1; w < n; first = 0) {
        size_t e = w;
        while (e < n && line[e] != ' ') e++;
        const char *eq = memchr(line + w, '=', e - w);
        if (!first) fputc(',', f);
        json_str(f, line + w, (size_t)(eq - (line + w)));
        fputc(':', f);
        const char *v = eq + 1;
        size_t vl = (size_t)(line + e - v), d = 0;
        while (d < vl && v[d] >= '0' && v[d] <= '9') d++;
        if (vl && d == vl && (vl == 1 || v[0] != '0') && vl < 19) fwrite(v, 1, vl, f);
        else json_str(f, v, vl);
        w = e + 1;
    }
    fputc('}', f);
}

/* `ymsgd ctl [--json] COMMAND [ARG...]`: one request on the control socket of the server running on the
 * data directory.  Exit status: 0 ok, 1 the server answered with an error, 2 usage, 3 no server
 * running there (or it did not answer). */
static int cmd_ctl(const struct config *cfg, int argc, char **argv)
{
    int json = 0;
    if (argc > 0 && !strcmp(argv[0], "--json")) {
        json = 1;
        argc--;
        argv++;
    }
    if (argc < 1) {
        fprintf(stderr, "ymsgd: ctl [--json] online|kick USER|broadcast TEXT|unlock USER|stats|reload|backup FILE|help\n");
        return 2;
    }
    char line[8192], cwd[4096];
    size_t used = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strpbrk(a, "\r\n")) {
            fprintf(stderr, "ymsgd: ctl: arguments cannot contain line breaks\n");
            return 2;
        }
        /* The server resolves paths from its own directory: make a relative backup file absolute. */
        int rel = i == 1 && !strcmp(argv[0], "backup") && a[0] != '/';
        if (rel && !getcwd(cwd, sizeof cwd)) {
            fprintf(stderr, "ymsgd: ctl: %s\n", strerror(errno));
            return 2;
        }
        int n = snprintf(line + used, sizeof line - used, "%s%s%s%s", i ? " " : "", rel ? cwd : "", rel ? "/" : "", a);
        if (n < 0 || (size_t)n >= sizeof line - used) {
            fprintf(stderr, "ymsgd: ctl: request too long\n");
            return 2;
        }
        used += (size_t)n;
    }
    size_t cap = 16u << 20;
    char *out = malloc(cap);
    if (!out) {
        fprintf(stderr, "ymsgd: out of memory\n");
        return 1;
    }
    int rc = admin_request(cfg->data_dir, line, out, cap, !strcmp(argv[0], "backup") ? 600 : 30);
    if (rc < 0) {
        char msg[4600];
        if (rc == -1)
            snprintf(msg, sizeof msg, "no ymsgd is running on data directory %s (no control socket %s/%s)", cfg->data_dir,
                     cfg->data_dir, ADMIN_SOCKET_NAME);
        else snprintf(msg, sizeof msg, "%.4500s", out);
        if (json) {
            printf("{\"ok\":false,\"message\":");
            json_str(stdout, msg, strlen(msg));
            printf(",\"items\":[]}\n");
        }
        fprintf(stderr, "ymsgd: %s\n", msg);
        free(out);
        return 3;
    }
    /* Data lines ("- ...") first, then the status line. */
    char *status = strrchr(out, '\n');
    status = status ? status + 1 : out;
    const char *text = status + (rc == 0 ? 2 : 5);
    if (*text == ' ') text++;
    if (json) printf("{\"ok\":%s,\"message\":", rc == 0 ? "true" : "false"), json_str(stdout, text, strlen(text)),
              printf(",\"items\":[");
    int first = 1;
    for (char *p = out; p < status;) {
        char *nl = strchr(p, '\n');
        size_t n = (size_t)(nl - p);
        if (n >= 2 && p[0] == '-' && p[1] == ' ') {
            if (json) {
                if (!first) putchar(',');
                json_item(stdout, p + 2, n - 2);
            } else {
                printf("%.*s\n", (int)(n - 2), p + 2);
            }
            first = 0;
        }
        p = nl + 1;
    }
    if (json) printf("]}\n");
    else if (rc == 0 && *text) printf("%s\n", text);
    else if (rc != 0) fprintf(stderr, "ymsgd: %s\n", text);
    free(out);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct config cfg;
    char err[512];
    char *pos[8];
    int npos = 0, rc, check = 0, ctl_at = 0, first_pos = 0, print_example = 0;
    const char *check_file = NULL;
    if (sodium_init() < 0) {
        fprintf(stderr, "ymsgd: libsodium failed to initialise\n");
        return 1;
    }
    config_defaults(&cfg);
    /* Pass 1: the config file (so that flags given anywhere override it), --check-config, and where a
     * `ctl` command starts (its words are its own, even when they look like flags). */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--check-config")) {
            check = 1;
            if (i + 1 < argc && argv[i + 1][0] != '-') check_file = argv[++i];
        } else if (!strcmp(a, "--config") || !strncmp(a, "--config=", 9)) {
            const char *path = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
            if (!path || g_config_path) {
                fprintf(stderr, "ymsgd: %s\n", path ? "--config may be given once" : "--config needs a file");
                config_free(&cfg);
                return 2;
            }
            g_config_path = path;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h") || !strcmp(a, "--version") ||
                   !strcmp(a, "--print-config-example")) {
            continue;
        } else if (!strncmp(a, "--", 2)) {
            if (!strchr(a, '=')) i++; /* its value */
        } else if (!first_pos) {
            first_pos = i;
            if (!strcmp(a, "ctl")) {
                ctl_at = i;
                break;
            }
        }
    }
    if (check_file) g_config_path = check_file;
    int loaded = g_config_path ? config_load_file(&cfg, g_config_path, err, sizeof err) : 0;
    if (loaded < 0 && ctl_at) {
        /* `ctl reload` is how one learns what the server makes of a broken file: go on (flags such as
         * --data-dir still count) and let the server answer. */
        fprintf(stderr, "ymsgd: warning: %s\n", err);
    } else if (loaded < 0) {
        if (check) fprintf(stderr, "ymsgd: configuration test failed: %s\n", err);
        else fprintf(stderr, "ymsgd: %s\n", err);
        config_free(&cfg);
        return check ? 1 : 2;
    }
    /* Pass 2: flags and positional words. */
    for (int i = 1; i < (ctl_at ? ctl_at : argc); i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            config_free(&cfg);
            return 0;
        }
        if (!strcmp(a, "--version")) {
            printf("ymsgd %s\n", YMSGD_VERSION);
            config_free(&cfg);
            return 0;
        }
        if (!strcmp(a, "--print-config-example")) { /* printed after every flag: they set values */
            print_example = 1;
            continue;
        }
        if (!strcmp(a, "--config")) {
            i++;
            continue;
        }
        if (!strncmp(a, "--config=", 9)) continue;
        if (!strcmp(a, "--check-config")) {
            if (check_file && i + 1 < argc && argv[i + 1] == check_file) i++;
            continue;
        }
        if (!strncmp(a, "--", 2)) {
            char key[64];
            const char *val, *eq = strchr(a, '=');
            size_t kl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            if (kl >= sizeof key) kl = sizeof key - 1;
            memcpy(key, a + 2, kl);
            key[kl] = 0;
            if (eq) val = eq + 1;
            else if (i + 1 < argc) val = argv[++i];
            else {
                fprintf(stderr, "ymsgd: %s needs a value (see --help)\n", a);
                config_free(&cfg);
                return 2;
            }
            if (config_set(&cfg, key, val, err, sizeof err) < 0) {
                fprintf(stderr, "ymsgd: %s (see --help)\n", err);
                config_free(&cfg);
                return 2;
            }
            /* Kept for reloads, which apply the flags again over the file (flags win); one that could not
             * be kept would silently fall back to the file's value at the next reload. */
            const char *k = g_nflags < sizeof g_flags / sizeof g_flags[0] ? (eq ? strndup(a + 2, kl) : a + 2) : NULL;
            if (!k) {
                fprintf(stderr, "ymsgd: too many settings on the command line (at most %zu): use --config\n",
                        sizeof g_flags / sizeof g_flags[0]);
                config_free(&cfg);
                return 2;
            }
            g_flags[g_nflags].key = k;
            g_flags[g_nflags++].value = val;
            continue;
        }
        if (npos < 8) pos[npos++] = argv[i];
        else {
            fprintf(stderr, "ymsgd: too many arguments\n");
            config_free(&cfg);
            return 2;
        }
    }
    if (print_example) {
        config_print_example(&cfg, stdout);
        config_free(&cfg);
        return 0;
    }
    if (check) {
        if (npos > 0 || ctl_at) {
            fprintf(stderr, "ymsgd: --check-config takes no command\n");
            config_free(&cfg);
            return 2;
        }
        rc = server_check_config(&cfg, err, sizeof err);
        if (rc < 0) fprintf(stderr, "ymsgd: configuration test failed: %s\n", err);
        else printf("ymsgd: configuration %s%s is valid\n", g_config_path ? "file " : "(defaults and flags)",
                    g_config_path ? g_config_path : "");
        config_free(&cfg);
        return rc < 0 ? 1 : 0;
    }
    int lvl = log_level_parse(cfg.log_level);
    if (lvl < 0) {
        fprintf(stderr, "ymsgd: log_level must be debug, info, warn or error\n");
        config_free(&cfg);
        return 2;
    }
    log_set_level((enum log_level)lvl);
    if (ctl_at) {
        rc = cmd_ctl(&cfg, argc - ctl_at - 1, argv + ctl_at + 1);
        config_free(&cfg);
        return rc;
    }
    if (npos > 0 && strcmp(pos[0], "user") != 0) {
        fprintf(stderr, "ymsgd: unknown command \"%s\" (see --help)\n", pos[0]);
        config_free(&cfg);
        return 2;
    }
    if (npos > 0) {
        rc = 1;
        struct store *st = open_store_for_cli(&cfg, npos > 1 ? pos[1] : "", &rc);
        if (st) {
            rc = cmd_user(&cfg, st, npos - 1, pos + 1);
            st->close(st);
        }
    } else {
        rc = run_server(&cfg);
    }
    config_free(&cfg);
    return rc;
}
