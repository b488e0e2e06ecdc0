/* ymsg, the terminal client: shared pieces of the driver, the one-shot commands, the TUI and probe. */
#ifndef YMSG_CLIENT_H
#define YMSG_CLIENT_H

#include <stdint.h>
#include <stdio.h>

#include "ymsg/ymsg.h"

/* Exit codes (documented in ymsg --help). */
#define EXIT_OKAY     0
#define EXIT_FAILED   1   /* the server refused the command, or probe found a leak */
#define EXIT_LOGIN    2   /* login refused: wrong password, no such user, locked */
#define EXIT_NETWORK  3   /* server or login server unreachable, connection lost, timeout */
#define EXIT_USAGE    64  /* bad command line */

/* Everything the command line configures. */
struct opts {
    char host[256];               /* pager host */
    char port[16];                /* pager port */
    const char *login_url;        /* token login base URL */
    const char *ca_file;          /* CA bundle for the login URL */
    const char *credentials;      /* file with user:password */
    const char *target_credentials; /* probe: the target's credentials file */
    int invisible;                /* log in invisible */
    int json;                     /* JSON output */
    int verbose;                  /* 1 = info log, 2 = debug log + packets */
    long count;                   /* listen: stop after N events (0 = no limit) */
    double timeout;               /* seconds to run (0 = no limit) */
    const char *to;               /* --to */
    const char *group;            /* --group */
    const char *message;          /* --message */
    long settle_ms;               /* buddies/probe: wait for presence after the list */
    int away;                     /* status custom: mark as away (key 47 = 1) */
    const char *account;          /* config "account": the Yahoo id (password from env or prompt) */
    const char *history_dir;      /* where conversations are logged (default XDG data dir) */
    int history;                  /* log conversations to disk */
    long history_lines;           /* lines reloaded when a tab opens */
    int hide_offline;             /* TUI: hide offline buddies */
    int bell;                     /* TUI: bell on a message in a background tab */
    int urgency;                  /* TUI: terminal urgency hint (BEL) on a message in a background tab */
    int mouse;                    /* TUI: mouse wheel scrolls */
    long auto_away_min;           /* TUI: away after N idle minutes (0 = off) */
    const char *baseline_credentials; /* probe: an offline account's credentials (timing baseline) */
    long samples;                 /* probe: timing samples per side */
    const char *download_dir;     /* where received files go (default ".") */
    const char *room;             /* --room: conference or chat room */
    int stdin_cmds;               /* --stdin: bot reads commands from standard input */
    int auto_files;               /* listen: 1 accept every file offer, -1 decline, 0 leave it */
};

/* The driver: one pager connection and its session. */
struct drv {
    struct ymsg_session *s;       /* the sans-IO session */
    int fd;                       /* pager socket, -1 when closed */
    struct ymsg_http_config http; /* for YMSG_EV_HTTP_GET */
    const struct opts *o;         /* options */
    char user[YMSG_ID_MAX];       /* own id */
    int verbose;                  /* log level switch */
    ymsg_packet_fn on_packet;     /* extra packet hook (probe), may be NULL */
    void *packet_ud;              /* its argument */
    int net_error;                /* the connection failed (as opposed to a login verdict) */
    int quiet;                    /* errors go to err only (the TUI owns the terminal) */
    char err[512];                /* the last error, for the TUI's status line */
    void *xfers;                  /* file transfers with a local file (xfer.c), NULL until one */
};

uint64_t now_ms(void);
/* Reads credentials: file, then YMSG_USER/YMSG_PASSWORD, then a prompt on the terminal. */
int read_credentials(const char *file, const char *env_user, const char *env_pass, const char *account, char *user,
                     size_t ucap, char *pass, size_t pcap);
/* Connects and starts the session signing in with `status` (AVAILABLE, INVISIBLE, an away code 1..9, CUSTOM
 * with msg and away, or IDLE).  Returns 0 or EXIT_NETWORK. */
int drv_open(struct drv *d, const struct opts *o, const char *user, const char *password, uint32_t status,
             const char *msg, int away);
/* Waits up to timeout_ms for the socket (and extra_fd if >= 0), reads, ticks, writes.
 * Returns 0, or EXIT_NETWORK once the connection is gone.  *extra_ready is set if extra_fd is readable. */
int drv_step(struct drv *d, int extra_fd, int timeout_ms, int *extra_ready);
/* Next event for the application; performs HTTP requests the session asks for on the way. */
const struct ymsg_event *drv_next_event(struct drv *d);
/* Runs until logged in.  Returns 0, EXIT_LOGIN or EXIT_NETWORK; prints the reason to stderr. */
int drv_login(struct drv *d, int timeout_ms, void (*cb)(void *, const struct ymsg_event *), void *ud);
/* Writes pending output (bounded wait) and closes. */
void drv_close(struct drv *d);

/* xfer.c: transfers with a local file.  cx_register names the file of a transfer (the one sent, or the
 * one to create for a download of at most max bytes) before the session asks to move it; the driver
 * then runs it (cx_on_event from drv_next_event, cx_poll from drv_step). */
#define CX_MAX 16
int cx_register(struct drv *d, const char *id, const char *path, int upload, uint64_t max);
void cx_on_event(struct drv *d, const struct ymsg_event *ev);
void cx_poll(struct drv *d);
int cx_active(struct drv *d);
const char *cx_error(struct drv *d, const char *id);
void cx_free(struct drv *d);
/* dir/name, or dir/N-name when that exists; creates dir.  0 or -1. */
int cx_download_path(const char *dir, const char *name, char *out, size_t cap);

/* Records an error: into d->err, and on stderr unless d->quiet. */
void drv_error(struct drv *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* config.c: defaults, then the config file, then the environment; flags are applied by main. */
void config_defaults(struct opts *o);
int config_default_path(char *out, size_t cap);
/* Loads "key = value" lines; a missing file is fine unless must_exist.  -1 with a message on stderr. */
int config_load(struct opts *o, const char *path, int must_exist);
/* YMSG_SERVER, YMSG_LOGIN_URL. */
int config_env(struct opts *o);
/* One setting (file key or -o KEY=VALUE).  0, -1 bad value, -2 unknown key. */
int config_set(struct opts *o, const char *key, const char *value);
int config_server(struct opts *o, const char *hostport);

/* JSON helpers */
void json_str(FILE *f, const char *s);
void json_event(FILE *f, const struct ymsg_event *ev);
void json_buddies(FILE *f, struct ymsg_session *s);
const char *status_text(uint32_t status);

int cmd_bot(const char *cmd, int argc, char **argv, const struct opts *o);
int cmd_tui(const struct opts *o);
int cmd_probe(int argc, char **argv, const struct opts *o);

#endif
