/* The local control channel of a running ymsgd: a unix stream socket ADMIN_SOCKET_NAME in the data
 * directory, mode 0600, that only the server's own user (or root) may use (checked again with
 * SO_PEERCRED on every connection).  `ymsgd user passwd|del` talks to it so that a change made from
 * the command line takes effect in the running server at once.
 *
 * Protocol (docs/ymsgd.8, "CONTROL SOCKET"): ASCII lines ending in LF, at most ctl_max_line bytes.
 * A request is `COMMAND [ARG ...]` (words separated by spaces).  The reply is zero or more data lines
 * starting with "- ", then exactly one status line: "ok[ TEXT]" or "error TEXT".  Several requests
 * may follow each other on one connection; end of input closes it after the last reply.
 * Commands: `ping`, `help`, `revoke USER`, `online`, `kick USER`, `broadcast TEXT` (the rest of the
 * line), `unlock USER`, `stats`, `reload`, `backup FILE` (absolute path).  Data lines are
 * `- key=value ...` with values free of blanks (so `ymsgd ctl --json` can turn them into objects), or
 * free text (help).  A new command is one entry in the command table of admin.c.
 *
 * Limits (config knobs): ctl_max_conns connections at once (more get "error busy" and are closed), a
 * line longer than ctl_max_line gets "error line too long" and the connection is closed, and a
 * connection idle for ctl_idle_timeout seconds (e.g. one that never sends a newline) is closed. */
#ifndef YMSGD_ADMIN_H
#define YMSGD_ADMIN_H

#include <stddef.h>

#include "server.h"

#define ADMIN_SOCKET_NAME "ymsgd.ctl" /* file name under the data directory */

struct admin;

/* Listens on DATA_DIR/ymsgd.ctl (a stale socket file left by a crashed server is replaced; one that
 * answers means another ymsgd runs on the data directory, which is an error).  NULL with a message
 * in err. */
struct admin *admin_start(struct server *srv, char *err, size_t errlen);
/* `reload` runs fn (main.c: the same function SIGHUP runs); it returns 0 when applied, -1 when refused,
 * with a one-line report. */
typedef int (*admin_reload_fn)(struct server *srv, char *report, size_t cap);
void admin_set_reload(struct admin *a, admin_reload_fn fn);
/* Stops listening, closes the control connections and removes the socket file. */
void admin_free(struct admin *a);

/* The command table: index of name with its argument bounds, or -1 when there is no such command. */
int admin_command_arity(const char *name, int *min_args, int *max_args);

/* Client side (the command line): sends one request line (without LF) to the server running on
 * data_dir and copies the reply (all lines) into out.  Returns 0 for "ok", 1 for "error", -1 when no
 * server listens there (no socket file, or nobody accepts on it), -2 on any other failure (message
 * in out).  Waits at most timeout_s seconds for the reply. */
int admin_request(const char *data_dir, const char *line, char *out, size_t cap, int timeout_s);

#endif
