/* Configuration table, file parser and flag help; see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_STR, K_LONG, K_LL, K_BOOL };

struct knob {
    const char *name;   /* underscore form; flags use dashes */
    enum kind kind;     /* how the value is parsed */
    size_t off;         /* offset in struct config */
    const char *def;    /* default, as text */
    long long min, max; /* bounds for numbers */
    const char *help;   /* one line for --help and the man page */
};

#define F(field) offsetof(struct config, field)
static const struct knob knobs[] = {
    {"data_dir", K_STR, F(data_dir), "data", 0, 0, "directory for ymsgd.db (created on first start)"},
    {"store", K_STR, F(store), "", 0, 0, "durable store: \"\" = SQLite in data_dir; postgresql://USER@HOST:PORT/DB (or ?host=/socket/dir) = PostgreSQL"},
    {"store_queue_max", K_LONG, F(store_queue_max), "100000", 1, 100000000, "PostgreSQL: store writes queued for the store worker at most (beyond: run on the event loop, in order)"},
    {"ymsg_listen", K_STR, F(ymsg_listen), "127.0.0.1:5050", 0, 0, "YMSG pager listener HOST:PORT; several: A,B (e.g. :5050 and :23)"},
    {"http_listen", K_STR, F(http_listen), "127.0.0.1:8080", 0, 0, "HTTP listener HOST:PORT (\"\" = off)"},
    {"https_listen", K_STR, F(https_listen), "127.0.0.1:8443", 0, 0, "HTTPS listener HOST:PORT (needs tls_cert/tls_key)"},
    {"tls_cert", K_STR, F(tls_cert), "", 0, 0, "PEM certificate chain for HTTPS"},
    {"tls_key", K_STR, F(tls_key), "", 0, 0, "PEM private key for HTTPS"},
    {"capacity_host", K_STR, F(capacity_host), "", 0, 0, "CS_IP_ADDRESS in /capacity (\"\" = address the client used)"},
    {"log_level", K_STR, F(log_level), "info", 0, 0, "debug, info, warn or error"},
    {"log_file", K_STR, F(log_file), "", 0, 0, "write the log to this file instead of stderr (SIGUSR1 reopens it)"},
    {"log_conn_rate", K_LONG, F(log_conn_rate), "2", 1, 1000000, "log lines per second for one event from one connection (more: summarised)"},
    {"log_conn_burst", K_LONG, F(log_conn_burst), "20", 1, 1000000, "burst of log lines for one event from one connection"},
    {"log_addr_rate", K_LONG, F(log_addr_rate), "10", 1, 1000000, "log lines per second for one event from one address"},
    {"log_addr_burst", K_LONG, F(log_addr_burst), "100", 1, 1000000, "burst of log lines for one event from one address"},
    {"log_global_rate", K_LONG, F(log_global_rate), "200", 1, 1000000, "log lines per second for one event overall"},
    {"log_global_burst", K_LONG, F(log_global_burst), "1000", 1, 1000000, "burst of log lines for one event overall"},
    {"pwhash_opslimit", K_LL, F(pwhash_opslimit), "2", 1, 1000, "argon2id opslimit for new password hashes"},
    {"pwhash_memlimit", K_LL, F(pwhash_memlimit), "19922944", 8192, 4398046511104LL, "argon2id memlimit in bytes (19 MiB: OWASP's argon2id m=19456 KiB, t=2)"},
    {"pwcache_max", K_LONG, F(pwcache_max), "200000", 0, 100000000, "password verification cache: entries kept in memory (0 = off: every login hashes)"},
    {"pwcache_ttl", K_LONG, F(pwcache_ttl), "604800", 1, 31536000, "password verification cache: seconds an entry lives (here and in Redis)"},
    {"pwcache_key_file", K_STR, F(pwcache_key_file), "", 0, 0, "password verification cache: 32-byte secret, created if missing (\"\" = data_dir/pwcache.key; one file for every node of a cluster)"},
    {"legacy_auth", K_BOOL, F(legacy_auth), "off", 0, 1, "allow YMSG 9/10 method-0 logins (stores password-equivalent hashes)"},
    {"token_lifetime", K_LONG, F(token_lifetime), "300", 1, 86400, "seconds a login token is valid"},
    {"crumb_lifetime", K_LONG, F(crumb_lifetime), "600", 1, 86400 * 7, "seconds a crumb and its Y/T cookies are valid"},
    {"idle_timeout", K_LONG, F(idle_timeout), "300", 1, 86400, "seconds of silence before a session is closed"},
    {"login_timeout", K_LONG, F(login_timeout), "60", 1, 3600, "seconds allowed to complete a login"},
    {"max_sessions", K_LONG, F(max_sessions), "100000", 1, 10000000, "maximum simultaneous YMSG connections"},
    {"max_conns_per_addr", K_LONG, F(max_conns_per_addr), "64", 1, 10000000, "simultaneous YMSG connections per address"},
    {"prelogin_evict_age", K_LONG, F(prelogin_evict_age), "5", 0, 3600, "at max_conns_per_addr, a new connection evicts the address's oldest pre-login one this old (s)"},
    {"max_malformed", K_LONG, F(max_malformed), "16", 1, 1000000, "malformed YMSG frames (or 64 KiB garbage runs) before a connection is closed"},
    {"accept_pause_ms", K_LONG, F(accept_pause_ms), "250", 1, 60000, "out of file descriptors: pause accepting on a listener this long (ms)"},
    {"linger_ms", K_LONG, F(linger_ms), "2000", 0, 60000, "lingering close: after a last answer, read and drop what the client still sends this long (ms; 0 = close at once)"},
    {"linger_bytes", K_LONG, F(linger_bytes), "1048576", 1, 1073741824, "lingering close: most bytes of client input read and dropped before closing"},
    {"linger_max", K_LONG, F(linger_max), "4096", 0, 10000000, "lingering close: sockets lingering at once (beyond: closed at once)"},
    {"conn_rate", K_LONG, F(conn_rate), "20", 1, 10000000, "new YMSG connections per second per address"},
    {"conn_burst", K_LONG, F(conn_burst), "40", 1, 10000000, "burst of new connections per address"},
    {"login_rate", K_LONG, F(login_rate), "5", 1, 10000000, "login attempts per second per address"},
    {"login_burst", K_LONG, F(login_burst), "20", 1, 10000000, "burst of login attempts per address"},
    {"fail_window", K_LONG, F(fail_window), "600", 1, 86400, "seconds over which failed logins count"},
    {"addr_max_failures", K_LONG, F(addr_max_failures), "20", 1, 1000000, "failures per address before 1236"},
    {"account_max_failures", K_LONG, F(account_max_failures), "5", 1, 1000000, "failures per account before it locks"},
    {"account_lock_time", K_LONG, F(account_lock_time), "300", 1, 86400, "seconds an account lock lasts"},
    {"account_lock_check_interval", K_LONG, F(account_lock_check_interval), "60", 1, 86400, "seconds between password checks a locked account admits (from clean addresses)"},
    {"ctl_max_conns", K_LONG, F(ctl_max_conns), "8", 1, 1024, "control socket: connections served at once"},
    {"ctl_idle_timeout", K_LONG, F(ctl_idle_timeout), "10", 1, 3600, "control socket: seconds without a complete request line"},
    {"ctl_max_line", K_LONG, F(ctl_max_line), "1024", 64, 65536, "control socket: longest request line in bytes"},
    {"max_tracked", K_LONG, F(max_tracked), "200000", 16, 100000000, "entries per rate-limit/token table"},
    {"max_packet", K_LONG, F(max_packet), "65535", 64, 65535, "largest YMSG body accepted (bytes)"},
    {"max_pairs", K_LONG, F(max_pairs), "4096", 8, 65535, "most key/value pairs in one packet"},
    {"out_cap", K_LONG, F(out_cap), "262144", 4096, 1073741824, "queued output bytes before a slow client is dropped"},
    {"http_max_body", K_LONG, F(http_max_body), "2097152", 0, 1073741824, "largest HTTP request body (above amf_max_body, so the gateway's own limit answers first)"},
    {"http_timeout", K_LONG, F(http_timeout), "30", 1, 3600, "HTTP connection idle timeout (s)"},
    {"http_head_timeout", K_LONG, F(http_head_timeout), "10", 1, 3600, "seconds allowed for a whole HTTP request head"},
    {"http_max_conns", K_LONG, F(http_max_conns), "4096", 1, 10000000, "simultaneous HTTP(S) connections"},
    {"http_max_conns_per_addr", K_LONG, F(http_max_conns_per_addr), "64", 1, 10000000, "simultaneous HTTP(S) connections per address"},
    {"offline_max", K_LONG, F(offline_max), "200", 0, 1000000, "offline messages kept per recipient"},
    {"offline_per_sender", K_LONG, F(offline_per_sender), "50", 0, 1000000, "offline messages one sender may leave one recipient"},
    {"offline_notice_interval", K_LONG, F(offline_notice_interval), "10", 0, 86400, "seconds between repeated \"not sent\" notices about one recipient"},
    {"max_buddies", K_LONG, F(max_buddies), "1000", 1, 1000000, "buddies (and ignored ids) per user"},
    {"max_message", K_LONG, F(max_message), "4096", 1, 65535, "longest IM text relayed (bytes)"},
    {"conf_max_members", K_LONG, F(conf_max_members), "20", 2, 64, "conferences: participants (joined + invited) per conference"},
    {"conf_max_per_user", K_LONG, F(conf_max_per_user), "20", 1, 10000, "conferences: conferences one user may have joined at once"},
    {"conf_invite_rate", K_LONG, F(conf_invite_rate), "30", 1, 100000, "conferences: invitations per minute per user (also the burst)"},
    {"conf_max_message", K_LONG, F(conf_max_message), "4096", 1, 65535, "conferences: longest conference message, invitation or decline text (bytes)"},
    {"session_rate", K_LONG, F(session_rate), "50", 1, 10000000, "packets per second per logged-in session"},
    {"session_burst", K_LONG, F(session_burst), "500", 1, 10000000, "burst of packets per session (beyond: dropped)"},
    {"stealth_max_names", K_LONG, F(stealth_max_names), "100", 1, 100000, "ids acted on per 0xB9/0xBA packet (each costs a session token)"},
    {"hash_threads", K_LONG, F(hash_threads), "2", 0, 64, "threads verifying password hashes (0 = in the event loop)"},
    {"hash_queue", K_LONG, F(hash_queue), "1024", 1, 1000000, "password checks waiting at most (then 1236)"},
    {"amf_max_body", K_LONG, F(amf_max_body), "1048576", 64, 1073741824, "largest AMF gateway request (an AMF fault beyond; below http_max_body)"},
    {"amf_max_depth", K_LONG, F(amf_max_depth), "64", 4, 10000, "AMF nesting accepted by the gateway"},
    {"amf_max_elements", K_LONG, F(amf_max_elements), "65536", 16, 16777216, "entries per AMF container accepted by the gateway"},
    {"amf_max_sessions", K_LONG, F(amf_max_sessions), "100000", 1, 10000000, "AMF gateway sessions kept"},
    {"amf_session_idle", K_LONG, F(amf_session_idle), "1800", 1, 604800, "seconds an AMF gateway session lives unused"},
    {"amf_phonebook_max", K_LONG, F(amf_phonebook_max), "1000", 1, 1000000, "Phonebook entries per user (the seed's demo: 10)"},
    {"amf_phonebook_cache", K_LONG, F(amf_phonebook_cache), "16777216", 0, 1073741824, "bytes of phonebooks the AMF gateway keeps in memory (0 = off)"},
    {"amf_crossdomain", K_STR, F(amf_crossdomain), "", 0, 0, "domains in /crossdomain.xml, comma separated (\"\" = none)"},
    {"yab_max_body", K_LONG, F(yab_max_body), "65536", 256, 1073741824, "largest POST /yab (address book) body in bytes"},
    {"yab_max_value", K_LONG, F(yab_max_value), "1024", 16, 1048576, "bytes of one attribute value in a POST /yab"},
    {"yab_max_records", K_LONG, F(yab_max_records), "100", 1, 1000000, "records (<ct>) in one POST /yab"},
    {"yab_max_reply", K_LONG, F(yab_max_reply), "8388608", 1024, 1073741824, "largest /yab answer (a whole address book) in bytes"},
    {"amf_crossdomain_secure", K_BOOL, F(amf_crossdomain_secure), "on", 0, 1, "off: crossdomain.xml lets HTTP SWFs call HTTPS (secure=\"false\")"},
    {"web_root", K_STR, F(web_root), "", 0, 0, "directory of the browser apps (\"\" = the build tree when run from it, else <datadir>/ymsg/www)"},
    {"web_max_file", K_LONG, F(web_max_file), "8388608", 1024, 1073741824, "largest static file served (bytes)"},
    {"web_cache_age", K_LONG, F(web_cache_age), "300", 0, 31536000, "max-age of /assets/ files (s; pages always revalidate)"},
    {"ws_origins", K_STR, F(ws_origins), "", 0, 0, "origins besides the page's own allowed on /ymsg and by the relay's CORS (comma separated, \"*\" = any)"},
    {"ws_max_frame", K_LONG, F(ws_max_frame), "65555", 16, 16777216, "largest WebSocket frame payload accepted (bytes)"},
    {"ws_max_message", K_LONG, F(ws_max_message), "131072", 16, 16777216, "largest WebSocket message accepted (bytes)"},
    {"redis", K_STR, F(redis), "", 0, 0, "cluster: Redis at redis://HOST:PORT or unix:PATH (\"\" = one node, no cluster)"},
    {"node_name", K_STR, F(node_name), "", 0, 0, "cluster: this node's unique name (\"\" = the advertise address)"},
    {"advertise", K_STR, F(advertise), "", 0, 0, "cluster: pager HOST:PORT this node gives out in /capacity (\"\" = first ymsg_listen)"},
    {"cluster_heartbeat_ms", K_LONG, F(cluster_heartbeat_ms), "1000", 50, 60000, "cluster: ms between a node's heartbeats (liveness, session count)"},
    {"cluster_node_timeout_ms", K_LONG, F(cluster_node_timeout_ms), "4000", 200, 600000, "cluster: a node silent this long is dead: its users go offline"},
    {"cluster_queue_max", K_LONG, F(cluster_queue_max), "8388608", 65536, 1073741824, "cluster: bytes queued for Redis while it is unreachable (older IMs then go to the box)"},
    {"cluster_batch_max", K_LONG, F(cluster_batch_max), "65536", 1024, 16777216, "cluster: bytes in one PUBLISH of packets for one node"},
    {"metrics_listen", K_STR, F(metrics_listen), "", 0, 0, "HOST:PORT of the /metrics, /healthz, /readyz listener (\"\" = off; keep it on loopback)"},
    {"metrics_max_labels", K_LONG, F(metrics_max_labels), "64", 1, 100000, "distinct client-chosen label values (AMF names) in /metrics; more count as \"other\""},
    {"health_timeout_ms", K_LONG, F(health_timeout_ms), "1000", 1, 60000, "/healthz: a store probe slower than this (ms) is unhealthy"},
    {"relay_listen", K_STR, F(relay_listen), "", 0, 0, "file-transfer relay HTTP listener HOST:PORT (\"\" = off: file offers are refused)"},
    {"relay_tls_listen", K_STR, F(relay_tls_listen), "", 0, 0, "file-transfer relay HTTPS listener HOST:PORT (needs tls_cert/tls_key; \"\" = off)"},
    {"relay_host", K_STR, F(relay_host), "", 0, 0, "relay HOST:PORT handed to clients in 0xDD/0xDE key 250 (\"\" = relay_listen, which must then not be a wildcard)"},
    {"relay_public_url", K_STR, F(relay_public_url), "", 0, 0, "relay URL(s) the web messenger uses, comma separated, at most 4 (http[s]://HOST[:PORT][/PATH]; \"\" = http://relay_host and https://<relay_host's host>:<relay_tls_listen port>); an https page takes an https one. Key 250 stays relay_host"},
    {"relay_max_file", K_LL, F(relay_max_file), "104857600", 1, 1099511627776LL, "largest file accepted by the relay (bytes)"},
    {"relay_quota", K_LL, F(relay_quota), "524288000", 1, 1099511627776LL, "bytes one sender may have on the relay at once (offered and uploaded, not yet downloaded)"},
    {"relay_ttl", K_LONG, F(relay_ttl), "900", 1, 604800, "seconds a file transfer and its relay file live (then deleted)"},
    {"relay_max_transfers", K_LONG, F(relay_max_transfers), "16", 1, 100000, "file transfers one sender may have pending at once"},
    {"chat_rooms_file", K_STR, F(chat_rooms_file), "", 0, 0, "chat rooms: file of \"category NAME\" and \"room NAME | TOPIC\" lines (\"\" = the embedded default rooms)"},
    {"chat_room_max_members", K_LONG, F(chat_room_max_members), "1000", 1, 1000000, "chat rooms: members in one room at most (more are refused: room full)"},
    {"chat_max_rooms", K_LONG, F(chat_max_rooms), "1", 1, 64, "chat rooms: rooms one user is in at once (joining one more leaves the first)"},
    {"chat_max_message", K_LONG, F(chat_max_message), "1024", 1, 65000, "chat rooms: longest room message text in bytes (longer ones are dropped)"},
    {"chat_msg_rate", K_LONG, F(chat_msg_rate), "2", 1, 1000000, "chat rooms: room messages and invites per second per member"},
    {"chat_msg_burst", K_LONG, F(chat_msg_burst), "10", 1, 1000000, "chat rooms: burst of room messages and invites per member"},
    {"chat_idle_timeout", K_LONG, F(chat_idle_timeout), "7200", 1, 604800, "chat rooms: seconds without a room message or chat ping (0xA1) before a member is removed"},
};
#undef F
#define NKNOBS (sizeof knobs / sizeof knobs[0])

static const struct knob *find_knob(const char *name)
{
    char norm[64];
    size_t i;
    for (i = 0; name[i] && i + 1 < sizeof norm; i++) norm[i] = name[i] == '-' ? '_' : name[i];
    norm[i] = 0;
    for (size_t k = 0; k < NKNOBS; k++)
        if (strcmp(knobs[k].name, norm) == 0) return &knobs[k];
    return NULL;
}

int config_has_key(const char *name) { return find_knob(name) != NULL; }

/* The knobs a reload applies to the running server.  Each is read where it is used (or pushed there by
 * server_reload()), so a new value takes effect at once or for the next connection; every other knob
 * sizes or opens something at start and is reported as "needs restart".  A knob missing here is
 * therefore never half-applied. */
static const char *const live_knobs[] = {
    "log_level", "log_file", "log_conn_rate", "log_conn_burst", "log_addr_rate", "log_addr_burst", "log_global_rate",
    "log_global_burst", "tls_cert", "tls_key", "capacity_host", "pwhash_opslimit", "pwhash_memlimit", "legacy_auth",
    "token_lifetime", "crumb_lifetime", "idle_timeout", "login_timeout", "max_sessions", "max_conns_per_addr",
    "prelogin_evict_age", "max_malformed", "conn_rate", "conn_burst", "login_rate", "login_burst", "fail_window",
    "addr_max_failures", "account_max_failures", "account_lock_time", "account_lock_check_interval",
    "ctl_max_conns", "ctl_idle_timeout", "ctl_max_line", "max_pairs", "out_cap", "http_head_timeout",
    "http_max_conns", "http_max_conns_per_addr", "offline_max", "offline_per_sender", "offline_notice_interval",
    "max_buddies", "max_message", "conf_max_members", "conf_max_per_user", "conf_invite_rate", "conf_max_message",
    "session_rate", "session_burst", "stealth_max_names", "amf_crossdomain",
    "amf_crossdomain_secure", "web_max_file", "web_cache_age", "ws_origins", "ws_max_frame", "ws_max_message",
    "linger_ms", "linger_bytes", "linger_max", /* read at every close (core/linger.c) */
};

size_t config_knob_count(void) { return NKNOBS; }

const char *config_knob_name(size_t i) { return i < NKNOBS ? knobs[i].name : NULL; }

int config_knob_live(size_t i)
{
    for (size_t k = 0; i < NKNOBS && k < sizeof live_knobs / sizeof live_knobs[0]; k++)
        if (!strcmp(live_knobs[k], knobs[i].name)) return 1;
    return 0;
}

void config_knob_format(const struct config *cfg, size_t i, char *out, size_t cap)
{
    const char *field = (const char *)cfg + knobs[i].off;
    switch (knobs[i].kind) {
    case K_STR: snprintf(out, cap, "%s", *(char *const *)field ? *(char *const *)field : ""); break;
    case K_BOOL: snprintf(out, cap, "%s", *(const int *)field ? "on" : "off"); break;
    case K_LL: snprintf(out, cap, "%lld", *(const long long *)field); break;
    case K_LONG: snprintf(out, cap, "%ld", *(const long *)field); break;
    }
}

int config_knob_equal(const struct config *a, const struct config *b, size_t i)
{
    const struct knob *k = &knobs[i];
    const char *x = (const char *)a + k->off, *y = (const char *)b + k->off;
    if (k->kind == K_STR) {
        const char *p = *(char *const *)x, *q = *(char *const *)y;
        return !strcmp(p ? p : "", q ? q : "");
    }
    size_t n = k->kind == K_LL ? sizeof(long long) : k->kind == K_LONG ? sizeof(long) : sizeof(int);
    return !memcmp(x, y, n);
}

int config_knob_copy(struct config *dst, const struct config *src, size_t i)
{
    const struct knob *k = &knobs[i];
    if (k->kind == K_STR) {
        char *dup = strdup(*(char *const *)((const char *)src + k->off));
        if (!dup) return -1;
        char **to = (char **)((char *)dst + k->off);
        free(*to);
        *to = dup;
        return 0;
    }
    size_t n = k->kind == K_LL ? sizeof(long long) : k->kind == K_LONG ? sizeof(long) : sizeof(int);
    memcpy((char *)dst + k->off, (const char *)src + k->off, n);
    return 0;
}

static int apply(struct config *cfg, const struct knob *k, const char *v, char *err, size_t errlen)
{
    char *field = (char *)cfg + k->off;
    if (k->kind == K_STR) {
        char *dup = strdup(v);
        if (!dup) { snprintf(err, errlen, "out of memory"); return -1; }
        free(*(char **)field);
        *(char **)field = dup;
        cfg->data_dir_set |= k->off == offsetof(struct config, data_dir);
        return 0;
    }
    if (k->kind == K_BOOL) {
        int b;
        if (!strcasecmp(v, "on") || !strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1")) b = 1;
        else if (!strcasecmp(v, "off") || !strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0")) b = 0;
        else { snprintf(err, errlen, "%s: expected on/off, got \"%s\"", k->name, v); return -1; }
        *(int *)field = b;
        return 0;
    }
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < k->min || n > k->max) {
        snprintf(err, errlen, "%s: expected an integer in [%lld, %lld], got \"%s\"", k->name, k->min, k->max, v);
        return -1;
    }
    if (k->kind == K_LL) *(long long *)field = n;
    else *(long *)field = (long)n;
    return 0;
}

void config_defaults(struct config *cfg)
{
    char err[128];
    memset(cfg, 0, sizeof *cfg);
    for (size_t k = 0; k < NKNOBS; k++) apply(cfg, &knobs[k], knobs[k].def, err, sizeof err);
    cfg->data_dir_set = 0;
}

void config_free(struct config *cfg)
{
    for (size_t k = 0; k < NKNOBS; k++)
        if (knobs[k].kind == K_STR) {
            char **p = (char **)((char *)cfg + knobs[k].off);
            free(*p);
            *p = NULL;
        }
}

int config_set(struct config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    const struct knob *k = find_knob(key);
    if (!k) { snprintf(err, errlen, "unknown setting \"%s\"", key); return -1; }
    return apply(cfg, k, value, err, errlen);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
    char line[4096], msg[256];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';') continue;
        char *eq = strchr(s, '=');
        if (!eq) { snprintf(err, errlen, "%s:%d: expected key = value", path, lineno); rc = -1; break; }
        *eq = 0;
        char *key = trim(s), *val = trim(eq + 1);
        if (val[0] == '"') {
            /* A quoted value ends at its closing quote; only a comment may follow it. */
            char *close = strchr(val + 1, '"');
            char *rest = close ? close + 1 : NULL;
            while (rest && (*rest == ' ' || *rest == '\t')) rest++;
            if (!close || (*rest && *rest != '#')) {
                snprintf(err, errlen, "%s:%d: %s", path, lineno,
                         close ? "only a # comment may follow a quoted value" : "unterminated quoted value");
                rc = -1;
                break;
            }
            *close = 0;
            val++;
        } else {
            /* An inline comment: "#" at the start of the value or after a blank. */
            for (char *h = strchr(val, '#'); h; h = strchr(h + 1, '#'))
                if (h == val || h[-1] == ' ' || h[-1] == '\t') {
                    *h = 0;
                    val = trim(val);
                    break;
                }
        }
        if (config_set(cfg, key, val, msg, sizeof msg) < 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

void config_usage(void *fp)
{
    FILE *f = fp;
    for (size_t k = 0; k < NKNOBS; k++) {
        char flag[64];
        size_t i;
        for (i = 0; knobs[k].name[i]; i++) flag[i] = knobs[k].name[i] == '_' ? '-' : knobs[k].name[i];
        flag[i] = 0;
        fprintf(f, "  --%-22s %s (default: %s)\n", flag, knobs[k].help, *knobs[k].def ? knobs[k].def : "\"\"");
    }
}

/* A knob's current value in cfg as config-file text (the form its default is written in). */
static void config_value_text(const struct config *cfg, const struct knob *k, char *out, size_t cap)
{
    const char *field = (const char *)cfg + k->off;
    if (k->kind == K_STR) snprintf(out, cap, "%s", *(char *const *)field ? *(char *const *)field : "");
    else if (k->kind == K_BOOL) snprintf(out, cap, "%s", *(const int *)field ? "on" : "off");
    else if (k->kind == K_LL) snprintf(out, cap, "%lld", *(const long long *)field);
    else snprintf(out, cap, "%ld", *(const long *)field);
}

void config_print_example(const struct config *cfg, void *fp)
{
    FILE *f = fp;
    char cur[4096];
    fprintf(f, "# ymsgd configuration (ymsgd --config FILE): one `key = value` per line, `#` starts a comment.\n"
               "# Every key is listed with its help and default; a commented line leaves the default in force.\n"
               "# Each key is also a flag (--key-name VALUE), and flags win over this file.  See ymsgd(8).\n"
               "# Generated by `ymsgd --print-config-example` from the same table as --help.\n");
    for (size_t k = 0; k < NKNOBS; k++) {
        const struct knob *kn = &knobs[k];
        config_value_text(cfg, kn, cur, sizeof cur);
        fprintf(f, "\n# %s\n", kn->help);
        if (kn->kind == K_LONG || kn->kind == K_LL) fprintf(f, "# integer in [%lld, %lld]; ", kn->min, kn->max);
        else if (kn->kind == K_BOOL) fprintf(f, "# on or off; ");
        else fprintf(f, "# ");
        fprintf(f, "default: %s\n", *kn->def ? kn->def : "\"\"");
        if (strcmp(cur, kn->def) != 0) fprintf(f, "%s = %s%s%s\n", kn->name, *cur ? "" : "\"", cur, *cur ? "" : "\"");
        else fprintf(f, "#%s = %s%s%s\n", kn->name, *cur ? "" : "\"", cur, *cur ? "" : "\"");
    }
}

int config_split_hostport(const char *s, char *host, size_t cap, int *port)
{
    const char *colon;
    char *end;
    if (!s || !*s) return -1;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':') return -1;
        if ((size_t)(rb - s - 1) >= cap) return -1;
        memcpy(host, s + 1, (size_t)(rb - s - 1));
        host[rb - s - 1] = 0;
        colon = rb + 1;
    } else if ((colon = strrchr(s, ':')) != NULL) {
        if ((size_t)(colon - s) >= cap) return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = 0;
    } else {
        snprintf(host, cap, "0.0.0.0");
        colon = s - 1;
    }
    long p = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || p < 0 || p > 65535) return -1;
    *port = (int)p;
    if (!*host) snprintf(host, cap, "0.0.0.0");
    return 0;
}

/* Item i of a comma-separated list, skipping empty items; *len gets its trimmed length. */
static const char *list_item(const char *list, size_t i, size_t *len)
{
    const char *p = list ? list : "";
    for (;;) {
        while (*p == ',' || isspace((unsigned char)*p)) p++;
        if (!*p) return NULL;
        const char *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        size_t n = (size_t)(end - p);
        while (n && isspace((unsigned char)p[n - 1])) n--;
        if (i-- == 0) {
            *len = n;
            return p;
        }
        p = end;
    }
}

size_t config_list_count(const char *list)
{
    size_t n = 0, len;
    while (list_item(list, n, &len)) n++;
    return n;
}

int config_list_item(const char *list, size_t i, char *out, size_t cap)
{
    size_t len;
    const char *p = list_item(list, i, &len);
    if (!p || len >= cap) return -1;
    memcpy(out, p, len);
    out[len] = 0;
    return 0;
}
