/* ymsg — a Yahoo! Messenger (YMSG16) terminal client, bot and invisibility audit tool on libymsg. */
#include "client.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: ymsg [OPTIONS]                        interactive terminal client\n"
    "       ymsg [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  send --to USER TEXT           send one message\n"
    "  buzz --to USER                send a buzz\n"
    "  typing --to USER [on|off]     send a typing notification\n"
    "  listen [--json] [--count N] [--timeout S]\n"
    "                                print events (one JSON object per line with --json)\n"
    "  status available|away|busy|brb|idle|invisible|custom TEXT [--away]\n"
    "                                sign in with that status and stay (like listen)\n"
    "  buddies [--json]              print the buddy list with presence\n"
    "  add USER [--group G] [--message M]   add a buddy (asks for authorisation)\n"
    "  remove USER [--group G]       remove a buddy\n"
    "  move USER GROUP               move a buddy to another group\n"
    "  rename-group OLD NEW          rename a group\n"
    "  accept USER | decline USER [--message M]   answer an authorisation request\n"
    "  ignore USER | unignore USER   edit the ignore list\n"
    "  conf-invite --to USER[,USER...] [--room NAME] [--message M]\n"
    "                                start a conference (or invite into --room) and stay (like listen)\n"
    "  join ROOM                     enter a chat room and stay (like listen)\n"
    "  say --room NAME TEXT          say TEXT in chat room NAME (joins it first), then stay\n"
    "  send-file --to USER FILE      offer FILE; exit 0 once received, 1 if declined or failed\n"
    "  listen ... [--accept-files|--decline-files] [--download-dir DIR] [--stdin]\n"
    "                                answer file offers; --stdin reads commands (see ymsg(1)):\n"
    "                                say, send, conf-invite, conf-join, conf-decline, conf-leave, join,\n"
    "                                leave, room-invite, send-file, accept-file, decline-file, cancel-file, quit\n"
    "  probe USER [--target-credentials FILE] [--baseline-credentials FILE] [--samples N] [--room R] [--json]\n"
    "                                audit the server: does USER's invisibility leak?\n"
    "\n"
    "options:\n"
    "  --server HOST:PORT            pager server (default scs.msg.yahoo.com:5050; env YMSG_SERVER)\n"
    "  --login-url URL               token login base (default https://login.yahoo.com; env YMSG_LOGIN_URL)\n"
    "  --ca-file FILE                CA bundle used to verify the login server\n"
    "  --credentials FILE            read 'user:password' from FILE\n"
    "  --invisible                   sign in invisible\n"
    "  --json                        JSON output\n"
    "  --timeout S, --count N        stop after S seconds / N events\n"
    "  --settle MS                   wait MS for presence after the list (buddies, probe; default 800)\n"
    "  -v, --verbose                 log to stderr (-vv debug, -vvv packet dumps)\n"
    "  --config FILE                 settings file (default $XDG_CONFIG_HOME/ymsg/config,\n"
    "                                ~/.config/ymsg/config); --no-config reads none\n"
    "  -o KEY=VALUE                  one setting, as in the config file (e.g. -o history=off)\n"
    "  --version, -h, --help\n"
    "\n"
    "Settings: the config file, then YMSG_SERVER / YMSG_LOGIN_URL, then flags. Keys: server, login_url,\n"
    "ca_file, credentials, account, invisible, history (on|off), history_dir, history_lines, hide_offline,\n"
    "download_dir, bell, urgency, mouse, auto_away (idle minutes, 0 = off). See ymsg(1).\n"
    "Credentials come from --credentials FILE, else YMSG_USER / YMSG_PASSWORD, else a prompt.\n"
    "They are never taken from the command line.\n"
    "\n"
    "exit codes:\n"
    "  0   success\n"
    "  1   the server refused the command, or probe found a leak\n"
    "  2   login failed (wrong password, no such user, account locked)\n"
    "  3   network failure (server or login server unreachable, connection lost, timeout)\n"
    "  64  usage error\n";

static int need_value(int argc, char **argv, int i)
{
    if (i + 1 >= argc) {
        fprintf(stderr, "ymsg: %s needs a value\n", argv[i]);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    struct opts o;
    config_defaults(&o);
    /* the config file first (flags override it), so find --config / --no-config before anything else */
    const char *cfg_path = NULL;
    int no_cfg = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "--no-config")) no_cfg = 1;
        if (!strcmp(argv[i], "--config") && i + 1 < argc) cfg_path = argv[++i];
        else if (!strcmp(argv[i], "--version")) {
            printf("ymsg %s\n", YMSG_PACKAGE_VERSION);
            return EXIT_OKAY;
        }
    }
    char def_path[1024];
    if (!no_cfg) {
        if (cfg_path && config_load(&o, cfg_path, 1) != 0)
            return EXIT_USAGE;
        if (!cfg_path && config_default_path(def_path, sizeof def_path) == 0 && config_load(&o, def_path, 0) != 0)
            return EXIT_USAGE;
    }
    if (config_env(&o) != 0)
        return EXIT_USAGE;
    const char *cmd = NULL;
    char **args = calloc((size_t)argc + 1, sizeof *args);
    int nargs = 0;
    if (!args)
        return EXIT_FAILED;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            free(args);
            return EXIT_OKAY;
        } else if (!strcmp(a, "--")) {
            for (i++; i < argc; i++)
                args[nargs++] = argv[i];
        } else if (!strcmp(a, "--password") || !strcmp(a, "-p") || !strncmp(a, "--password=", 11)) {
            fprintf(stderr, "ymsg: passwords are not accepted on the command line (they show in ps); use "
                            "--credentials FILE, YMSG_PASSWORD or the prompt\n");
            free(args);
            return EXIT_USAGE;
        } else if (!strcmp(a, "--no-config")) {
            continue;
        } else if (!strcmp(a, "--config")) {
            if (!need_value(argc, argv, i)) { free(args); return EXIT_USAGE; }
            i++;
        } else if (!strcmp(a, "-o")) {
            if (!need_value(argc, argv, i)) { free(args); return EXIT_USAGE; }
            char kv[1200];
            snprintf(kv, sizeof kv, "%s", argv[++i]);
            char *eq = strchr(kv, '=');
            int r = eq ? (*eq = 0, config_set(&o, kv, eq + 1)) : -2;
            if (r) {
                fprintf(stderr, r == -2 ? "ymsg: -o %s: unknown setting (want KEY=VALUE; see ymsg --help)\n"
                                        : "ymsg: -o %s: bad value\n", argv[i]);
                free(args);
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "--server")) {
            if (!need_value(argc, argv, i)) { free(args); return EXIT_USAGE; }
            if (config_server(&o, argv[++i]) != 0) {
                fprintf(stderr, "ymsg: --server wants HOST:PORT\n");
                free(args);
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "--login-url") || !strcmp(a, "--ca-file") || !strcmp(a, "--credentials") ||
                   !strcmp(a, "--target-credentials") || !strcmp(a, "--to") || !strcmp(a, "--group") ||
                   !strcmp(a, "--message") || !strcmp(a, "--count") || !strcmp(a, "--timeout") ||
                   !strcmp(a, "--settle") || !strcmp(a, "--baseline-credentials") || !strcmp(a, "--samples") ||
                   !strcmp(a, "--room") || !strcmp(a, "--download-dir")) {
            if (!need_value(argc, argv, i)) { free(args); return EXIT_USAGE; }
            const char *v = argv[++i];
            char *end = NULL;
            if (!strcmp(a, "--login-url")) o.login_url = v;
            else if (!strcmp(a, "--ca-file")) o.ca_file = v;
            else if (!strcmp(a, "--credentials")) o.credentials = v;
            else if (!strcmp(a, "--target-credentials")) o.target_credentials = v;
            else if (!strcmp(a, "--baseline-credentials")) o.baseline_credentials = v;
            else if (!strcmp(a, "--to")) o.to = v;
            else if (!strcmp(a, "--room")) o.room = v;
            else if (!strcmp(a, "--download-dir")) o.download_dir = v;
            else if (!strcmp(a, "--group")) o.group = v;
            else if (!strcmp(a, "--message")) o.message = v;
            else if (!strcmp(a, "--count")) o.count = strtol(v, &end, 10);
            else if (!strcmp(a, "--samples")) o.samples = strtol(v, &end, 10);
            else if (!strcmp(a, "--timeout")) o.timeout = strtod(v, &end);
            else o.settle_ms = strtol(v, &end, 10);
            if (end && (*end || end == v || o.count < 0 || o.timeout < 0 || o.settle_ms < 0 || o.samples < 0 ||
                        o.samples > 100000)) {
                fprintf(stderr, "ymsg: %s: bad number '%s'\n", a, v);
                free(args);
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "--json")) {
            o.json = 1;
        } else if (!strcmp(a, "--invisible")) {
            o.invisible = 1;
        } else if (!strcmp(a, "--stdin")) {
            o.stdin_cmds = 1;
        } else if (!strcmp(a, "--accept-files") || !strcmp(a, "--decline-files")) {
            o.auto_files = !strcmp(a, "--accept-files") ? 1 : -1;
        } else if (!strcmp(a, "--away")) {
            o.away = 1;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            o.verbose++;
        } else if (!strcmp(a, "-vv")) {
            o.verbose += 2;
        } else if (!strcmp(a, "-vvv")) {
            o.verbose += 3;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "ymsg: unknown option %s (see ymsg --help)\n", a);
            free(args);
            return EXIT_USAGE;
        } else if (!cmd) {
            cmd = a;
        } else {
            args[nargs++] = argv[i];
        }
    }
    int rc;
    if (!cmd)
        rc = cmd_tui(&o);
    else if (!strcmp(cmd, "probe"))
        rc = cmd_probe(nargs, args, &o);
    else if (!strcmp(cmd, "help")) {
        fputs(usage_text, stdout);
        rc = EXIT_OKAY;
    } else
        rc = cmd_bot(cmd, nargs, args, &o);
    free(args);
    return rc;
}
