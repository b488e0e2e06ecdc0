/* ymsgd configuration: one table of knobs (config.c) drives the defaults, the config file
 * (`key = value` lines, `#` comments), the command-line flags (`--key-name VALUE`) and --help. */
#ifndef YMSGD_CONFIG_H
#define YMSGD_CONFIG_H

#include <stddef.h>

struct config {
    char *data_dir;             /* directory holding ymsgd.db (created on first start) */
    char *store;                /* "" = SQLite under data_dir; postgresql://... = that PostgreSQL database */
    long store_queue_max;       /* store jobs waiting for the PostgreSQL worker at most (then run on the loop) */
    char *ymsg_listen;          /* HOST:PORT of the YMSG pager listener; several: comma-separated */
    char *http_listen;          /* HOST:PORT of the plain HTTP listener (capacity, token login) */
    char *https_listen;         /* HOST:PORT of the HTTPS listener, used when tls_cert and tls_key are set */
    char *tls_cert;             /* PEM certificate chain for HTTPS ("" = no HTTPS) */
    char *tls_key;              /* PEM private key for HTTPS */
    char *capacity_host;        /* CS_IP_ADDRESS answered by /capacity ("" = the address the client reached) */
    char *log_level;            /* debug | info | warn | error */
    char *log_file;             /* the log goes to this file instead of stderr ("" = stderr); SIGUSR1 reopens it */
    long log_conn_rate;         /* log lines/s for one event from one connection (then summarised) */
    long log_conn_burst;        /* ... and its burst */
    long log_addr_rate;         /* log lines/s for one event from one address */
    long log_addr_burst;        /* ... and its burst */
    long log_global_rate;       /* log lines/s for one event overall */
    long log_global_burst;      /* ... and its burst */
    long long pwhash_opslimit;  /* argon2id opslimit for new password hashes */
    long long pwhash_memlimit;  /* argon2id memlimit (bytes) for new password hashes */
    long pwcache_max;           /* password verification cache entries (0 = off) */
    long pwcache_ttl;           /* seconds a cache entry lives */
    char *pwcache_key_file;     /* the cache's secret ("" = data_dir/pwcache.key) */
    int legacy_auth;            /* accept YMSG 9/10 "method 0" logins (stores password-equivalent hashes) */
    long token_lifetime;        /* seconds a pwtoken_get token stays valid */
    long crumb_lifetime;        /* seconds the crumb and Y/T cookies from pwtoken_login stay valid */
    long idle_timeout;          /* seconds without any packet before a logged-in session is closed */
    long login_timeout;         /* seconds a connection may take to finish logging in */
    long max_sessions;          /* maximum simultaneous YMSG connections */
    long max_conns_per_addr;    /* maximum simultaneous YMSG connections from one address */
    long prelogin_evict_age;    /* at max_conns_per_addr, a newcomer evicts the oldest pre-login conn this old (s) */
    long max_malformed;         /* malformed frames (or 64 KiB garbage runs) before a YMSG connection is closed */
    long accept_pause_ms;       /* EMFILE/ENFILE: a listener stops accepting for this long */
    long linger_ms;             /* a closing socket reads and drops input this long after our last answer (ms) */
    long linger_bytes;          /* ... and at most this many bytes */
    long linger_max;            /* sockets lingering at once */
    long conn_rate;             /* new YMSG connections per second per address (token bucket rate) */
    long conn_burst;            /* ... and its burst size */
    long login_rate;            /* login attempts (pwtoken_get, 0x54) per second per address */
    long login_burst;           /* ... and its burst size; beyond it pwtoken_get answers 1236 */
    long fail_window;           /* seconds over which failed logins are counted */
    long addr_max_failures;     /* failures from one address in fail_window before it gets 1236 */
    long account_max_failures;  /* failures against one account in fail_window before it locks */
    long account_lock_time;     /* seconds an account lock lasts (1213 to addresses with failures) */
    long account_lock_check_interval; /* seconds between the password checks a locked account admits */
    long ctl_max_conns;         /* control socket: connections served at once */
    long ctl_idle_timeout;      /* control socket: seconds a connection may wait without a complete line */
    long ctl_max_line;          /* control socket: longest request line in bytes */
    long max_tracked;           /* cap on entries in each rate-limit / token table */
    long max_packet;            /* largest accepted YMSG body in bytes (<= 65535) */
    long max_pairs;             /* most key/value pairs accepted in one packet */
    long out_cap;               /* bytes queued to a client before it is disconnected as too slow */
    long http_max_body;         /* largest HTTP request body accepted */
    long http_timeout;          /* seconds an HTTP connection may stay idle */
    long http_head_timeout;     /* seconds for a whole HTTP request head (from accept / its first byte) */
    long http_max_conns;        /* simultaneous HTTP(S) connections */
    long http_max_conns_per_addr; /* simultaneous HTTP(S) connections from one address */
    long offline_max;           /* offline messages kept per recipient (more are refused, sender told) */
    long offline_per_sender;    /* ... of which one sender may hold at most this many */
    long offline_notice_interval; /* seconds between two "not sent" notices about one recipient to a session */
    long max_buddies;           /* buddies per user (more are refused with 66=6) */
    long max_message;           /* longest IM text relayed (bytes); longer ones are dropped */
    long conf_max_members;      /* conferences: participants (joined + invited) per conference (<= 64) */
    long conf_max_per_user;     /* conferences: conferences one user may have joined at once */
    long conf_invite_rate;      /* conferences: invitations per minute per user (token bucket, burst the same) */
    long conf_max_message;      /* conferences: longest 0x1D text / 0x18 58 / 0x1A 14 (bytes) */
    long session_rate;          /* packets per second a logged-in session may send (token bucket rate) */
    long session_burst;         /* ... and its burst; packets beyond it are dropped (logged) */
    long stealth_max_names;     /* ids acted on in one 0xB9/0xBA packet; each also costs a session token */
    long hash_threads;          /* threads verifying password hashes off the event loop (0 = inline) */
    long hash_queue;            /* password checks queued at most; beyond it pwtoken_get answers 1236 */
    long amf_max_body;          /* AMF gateway: largest request in bytes (below http_max_body: a fault beyond) */
    long amf_max_depth;         /* AMF gateway: container nesting accepted */
    long amf_max_elements;      /* AMF gateway: entries in one AMF container */
    long amf_max_sessions;      /* AMF gateway: sessions kept (anonymous ones evicted first) */
    long amf_session_idle;      /* AMF gateway: seconds a session lives unused */
    long amf_phonebook_max;     /* AMF gateway: Phonebook entries per user (the seed's demo kept 10) */
    long amf_phonebook_cache;   /* AMF gateway: bytes of stored phonebooks kept in memory for reads */
    char *amf_crossdomain;      /* AMF gateway: domains allowed by /crossdomain.xml ("" = none) */
    int amf_crossdomain_secure; /* AMF gateway: off adds secure="false" (HTTP SWFs may call HTTPS) */
    long yab_max_body;          /* address book: largest POST /yab body in bytes */
    long yab_max_value;         /* address book: bytes of one attribute value in a POST */
    long yab_max_records;       /* address book: <ct> records in one POST */
    long yab_max_reply;         /* address book: largest /yab answer in bytes */
    int data_dir_set;           /* data_dir came from a flag or the config file (not the default) */
    char *web_root;             /* browser apps' files ("" = the build tree's web/www, else the installed one) */
    long web_max_file;          /* largest static file served (bytes) */
    char *relay_listen;         /* HOST:PORT of the file-transfer relay's HTTP listener ("" = off) */
    char *relay_tls_listen;     /* HOST:PORT of the relay's HTTPS listener ("" = off) */
    char *relay_host;           /* HOST:PORT given to clients in key 250 ("" = relay_listen) */
    char *relay_public_url;     /* the relay's URL(s) for browsers, comma separated ("" = from the listeners) */
    long long relay_max_file;   /* largest relayed file (bytes) */
    long long relay_quota;      /* bytes one sender may hold on the relay at once */
    long relay_ttl;             /* seconds a transfer and its relay file live */
    long relay_max_transfers;   /* pending transfers per sender */
    long web_cache_age;         /* max-age of /assets/ files in seconds (pages always revalidate) */
    char *ws_origins;           /* WebSocket /ymsg: other origins allowed (comma separated, "*"; same origin always) */
    long ws_max_frame;          /* WebSocket: largest frame payload accepted (bytes) */
    long ws_max_message;        /* WebSocket: largest message accepted, fragments joined (bytes) */
    char *redis;                /* cluster: redis://HOST:PORT or unix:PATH ("" = one node) */
    char *node_name;            /* cluster: this node's unique name ("" = the advertise address) */
    char *advertise;            /* cluster: the pager HOST:PORT this node gives out ("" = first ymsg_listen) */
    long cluster_heartbeat_ms;  /* cluster: ms between heartbeats */
    long cluster_node_timeout_ms; /* cluster: a node without a heartbeat this long is dead */
    long cluster_queue_max;     /* cluster: bytes kept for Redis while it is unreachable */
    long cluster_batch_max;     /* cluster: bytes in one PUBLISH to one node */
    char *metrics_listen;       /* HOST:PORT of the /metrics, /healthz, /readyz listener ("" = off) */
    long metrics_max_labels;    /* distinct client-chosen label values per /metrics family (then "other") */
    long health_timeout_ms;     /* /healthz: a store probe slower than this is a failure */
    char *chat_rooms_file;      /* chat rooms: categories and rooms (docs/CHAT_ROOMS.md; "" = the embedded set) */
    long chat_room_max_members; /* chat rooms: members one room holds at most (then 114=-15) */
    long chat_max_rooms;        /* chat rooms: rooms one user is in at once (one more leaves the first) */
    long chat_max_message;      /* chat rooms: longest room message text (key 117, bytes) */
    long chat_msg_rate;         /* chat rooms: room messages and invites per second per member */
    long chat_msg_burst;        /* ... and its burst */
    long chat_idle_timeout;     /* chat rooms: seconds without a room message or 0xA1 before a member is removed */
};

/* The knobs one by index, for a reload that compares an old and a new config. */
size_t config_knob_count(void);
const char *config_knob_name(size_t i);
/* 1 when a running server takes a new value of knob i on reload (SIGHUP, `ymsgd ctl reload`); 0 when
 * it needs a restart (listen addresses, data_dir, sizes of tables made at start, ...). */
int config_knob_live(size_t i);
/* Knob i's value as text (what a config file would say). */
void config_knob_format(const struct config *cfg, size_t i, char *out, size_t cap);
/* 1 when knob i has the same value in a and b (whole strings compared). */
int config_knob_equal(const struct config *a, const struct config *b, size_t i);
/* Copies knob i's value from src to dst (strings duplicated).  0, or -1 when out of memory. */
int config_knob_copy(struct config *dst, const struct config *src, size_t i);

/* Fills every field with its default (strings are heap copies). */
void config_defaults(struct config *cfg);
void config_free(struct config *cfg);
/* Sets one knob by name (underscores or dashes).  Returns 0, or -1 with a message in err. */
int config_set(struct config *cfg, const char *key, const char *value, char *err, size_t errlen);
/* Reads a `key = value` file: `#` or `;` starts a comment line, and a `#` after whitespace ends a value
 * (an inline comment; a value that holds " #" is written in double quotes).  Returns 0, or -1 with
 * "file:line: message" in err. */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);
/* 1 if name (without leading dashes, dashes or underscores) is a knob taking a value. */
int config_has_key(const char *name);
/* Prints the flag list with defaults and help to f. */
void config_usage(void *f);
/* Prints a config file with every knob, its help, bounds and default: knobs whose value in cfg differs
 * from the default are active lines, the rest commented out (so flags given before it choose what an
 * installed example sets). */
void config_print_example(const struct config *cfg, void *f);
/* Comma-separated lists (ymsg_listen "A,B"): number of non-empty items, and item i (trimmed) into out.
 * config_list_item returns 0, or -1 when there is no item i or it does not fit in cap. */
size_t config_list_count(const char *list);
int config_list_item(const char *list, size_t i, char *out, size_t cap);
/* Parses "HOST:PORT" / "[V6]:PORT" / "PORT" into host (cap bytes) and port. */
int config_split_hostport(const char *s, char *host, size_t cap, int *port);

#endif
