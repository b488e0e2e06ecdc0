/* Service manager notifications (systemd's sd_notify protocol, through libsystemd): READY=1 once every
 * listener accepts, RELOADING=1/READY=1 around a config reload, STOPPING=1 at a graceful stop, a STATUS=
 * line with the session counts every few seconds, and WATCHDOG=1 when the unit sets WatchdogSec=.
 * Without $NOTIFY_SOCKET (not started by systemd) every call does nothing. */
#ifndef YMSGD_NOTIFY_H
#define YMSGD_NOTIFY_H

struct server;

/* Everything listens: READY=1 with a first STATUS=, then the status (and watchdog) timer on srv->base. */
void notify_ready(struct server *srv);
/* A reload starts (RELOADING=1) / is over, applied or refused (READY=1 and the status). */
void notify_reloading(struct server *srv);
void notify_reloaded(struct server *srv);
/* A graceful stop starts: STOPPING=1; the timer stops. */
void notify_stopping(struct server *srv);
/* Frees the timer (before srv->base is freed). */
void notify_free(void);

#endif
