/* Run-time reconfiguration of a running ymsgd: SIGHUP and `ymsgd ctl reload` both call server_reload(),
 * one function, so a service manager's notifications can go around it (sd_notify RELOADING=1 before,
 * READY=1 after).  Also the checks `ymsgd --check-config` runs.
 *
 * A reload reads the config file again (and applies the command-line flags again: they still win),
 * checks the result as a start would, and then either applies every knob that can change at run time
 * (config_knob_live(); logged one line per knob: "key: old -> new"), or, when anything is wrong,
 * changes nothing and logs why.  Knobs that take a restart (listen addresses, data_dir, table sizes)
 * keep their running value and are logged as "needs restart".  The TLS certificate and key are read
 * again on every reload (a renewed certificate at the same path is picked up). */
#ifndef YMSGD_RELOAD_H
#define YMSGD_RELOAD_H

#include <stddef.h>

#include "server.h"

struct gateway;

/* A `--key value` flag from the command line, replayed over the file on every reload. */
struct reload_flag {
    const char *key;   /* knob name as given (dashes or underscores) */
    const char *value; /* its value */
};

/* Remembers what a reload needs: the config file (NULL: none was given), the flags (the array and its
 * strings must outlive the server: argv) and the gateway whose crossdomain list may change. */
void reload_init(struct server *srv, struct gateway *gw, const char *config_path, const struct reload_flag *flags,
                 size_t nflags);

/* Checks a complete configuration as a start would use it: log level, log file, listen addresses,
 * TLS certificate and key (loaded), crossdomain list, amf_max_body below http_max_body.  0, or -1 with
 * a message in err. */
int server_check_config(const struct config *cfg, char *err, size_t errlen);

/* Reloads (see above).  0 when the new config was applied (report: what changed and what needs a
 * restart), -1 when it was refused and the running config kept (report: why).  Everything is logged. */
int server_reload(struct server *srv, char *report, size_t cap);

#endif
