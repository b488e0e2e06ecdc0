/* ymsgd's counters for /metrics (Prometheus text format).  One process, one event loop: the counters are
 * plain uint64_t in one global struct, bumped with a one-line increment where the event happens
 * (dispatch, delivery, the store wrapper, the login paths, the gateway's call runner) and read only when
 * a scrape asks (server/metrics/observe.c writes the page).  Nothing here allocates on the hot path.
 *
 * Label values that clients choose (AMF service and method names) go through a table whose size is
 * capped (metrics_max_labels): past the cap they are counted under "other", so no client can grow
 * the page.  Label values written by the server (service names from the dispatch table, fault codes)
 * come from the code and are bounded by it. */
#ifndef YMSGD_METRICS_H
#define YMSGD_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* YMSG service numbers counted one by one; anything above is counted as "other". */
#define METRICS_SERVICES 0x800

/* Store operation classes (the store wrapper, store/store_metrics.c). */
enum metrics_store_op {
    MET_ST_ACCOUNT,   /* user_* */
    MET_ST_BUDDY,     /* buddy_*, group_rename, watchers */
    MET_ST_AUTHREQ,   /* authreq_* */
    MET_ST_IGNORE,    /* ignore_* */
    MET_ST_OFFLINE,   /* offline_* */
    MET_ST_PHONEBOOK, /* phonebook_* */
    MET_ST_COUNT
};

/* Latency histogram buckets (seconds, upper bounds; +Inf implied). */
#define METRICS_BUCKETS 12
extern const double metrics_bucket_bounds[METRICS_BUCKETS];

struct metrics_hist {
    uint64_t bucket[METRICS_BUCKETS + 1]; /* observations per bucket (not cumulative); last is +Inf */
    uint64_t count;                       /* observations */
    double sum;                           /* seconds in total */
};

/* Where an IM went (pager/im.c). */
enum metrics_im_route {
    MET_IM_LIVE,    /* handed to the recipient's session */
    MET_IM_OFFLINE, /* stored for the recipient's next login */
    MET_IM_IGNORED, /* the recipient ignores the sender: kept as delivered, not shown */
    MET_IM_REFUSED, /* the recipient's box was full: the sender was told */
    MET_IM_FAILED,  /* the store failed */
    MET_IM_COUNT
};

/* Login paths, each counted with its result. */
enum metrics_login_path {
    MET_LOGIN_YMSG,  /* 0x54 on the pager (TCP or WebSocket) */
    MET_LOGIN_TOKEN, /* HTTP /config/pwtoken_get (the password check of YMSG 16 clients) */
    MET_LOGIN_AMF,   /* the AMF gateway's login method */
    MET_LOGIN_PATHS
};

/* Login results ("ok" and the failure reasons). */
enum metrics_login_result {
    MET_LR_OK,
    MET_LR_BAD_PASSWORD, /* wrong password or credentials that do not check out */
    MET_LR_LOCKED,       /* the account is locked after failures */
    MET_LR_THROTTLED,    /* the address's login rate or failure count, or the server is busy */
    MET_LR_NO_SUCH_USER, /* only where the path says so (the token path answers like a wrong password) */
    MET_LR_BAD_REQUEST,  /* missing or malformed fields, out-of-order packets */
    MET_LR_OTHER,        /* anything else */
    MET_LR_COUNT
};

/* Rate limits that drop work (the per-session packet limit is srv->dropped_flood). */
enum metrics_limit {
    MET_RL_CONN,     /* new YMSG connections over conn_rate/conn_burst from one address */
    MET_RL_COUNT
};

struct metrics {
    uint64_t pkts_in[METRICS_SERVICES + 1];  /* YMSG packets decoded, by service ([METRICS_SERVICES] = above) */
    uint64_t pkts_out[METRICS_SERVICES + 1]; /* YMSG packets queued to sessions, by service */
    uint64_t bytes_in;                       /* bytes of those packets in (header + body) */
    uint64_t bytes_out;                      /* ... and out */
    uint64_t ims[MET_IM_COUNT];              /* IMs by route */
    uint64_t logins[MET_LOGIN_PATHS][MET_LR_COUNT]; /* login attempts by path and result */
    uint64_t ratelimit[MET_RL_COUNT];        /* work dropped by a rate limit */
    struct metrics_hist store[MET_ST_COUNT]; /* store call latency by operation class */
};

/* The one instance (ymsgd has one server per process). */
extern struct metrics g_metrics;

/* Monotonic seconds (for the store wrapper's timing). */
double metrics_now(void);
void metrics_observe(struct metrics_hist *h, double seconds);

static inline void metrics_packet_in(uint16_t service, size_t bytes)
{
    g_metrics.pkts_in[service < METRICS_SERVICES ? service : METRICS_SERVICES]++;
    g_metrics.bytes_in += bytes;
}

static inline void metrics_packet_out(uint16_t service, size_t bytes)
{
    g_metrics.pkts_out[service < METRICS_SERVICES ? service : METRICS_SERVICES]++;
    g_metrics.bytes_out += bytes;
}

/* A login attempt on path: code 0 = ok, else a pwtoken_get code (1212, 1213, 1236, ...) or a 0x54 key 66
 * code (13, 14, 3, ...); the two sets do not overlap except at 0, so one mapping serves both.  On the
 * pager, a failure with code 0 ("unknown error") is passed as -1. */
void metrics_login(enum metrics_login_path path, int code);

/* One AMF call: service and method as the client sent them, result "ok" or the fault code (a
 * server constant).  known = the gateway has this service and method (then the names are bounded by
 * the code); unknown names get their own labels only until metrics_max_labels distinct ones exist. */
void metrics_amf_call(const char *service, const char *method, const char *result, int known);
/* Sets the cap (config metrics_max_labels); takes effect for new label values. */
void metrics_set_label_cap(size_t cap);

/* One AMF label set and its count, for the exposition. */
struct metrics_amf_row {
    const char *service; /* label values (NUL-terminated, as received, cut at 64 bytes) */
    const char *method;
    const char *result;
    uint64_t count;      /* calls */
};
/* Calls cb for every AMF row in first-seen order. */
void metrics_amf_each(void (*cb)(void *arg, const struct metrics_amf_row *row), void *arg);
/* Distinct AMF rows held (for tests). */
size_t metrics_amf_rows(void);

/* Password-hash worker pools besides auth's (the gateway's, for AMF logins): depth(arg) is read when a
 * scrape asks.  depth NULL removes the pool of that name.  At most METRICS_HASH_POOLS. */
#define METRICS_HASH_POOLS 4
void metrics_hash_pool(const char *name, size_t (*depth)(void *arg), void *arg);
/* Calls cb for every registered pool with its current depth. */
void metrics_hash_pools_each(void (*cb)(void *arg, const char *name, size_t depth), void *arg);

/* Text-format helpers (append to a growing buffer; a failure sets b->err).  Label values are escaped
 * as the format wants (backslash, double quote, newline), and bytes that are not valid UTF-8 in a
 * simple sense (controls) are replaced by '?'. */
struct metrics_buf {
    char *p;      /* text */
    size_t len;   /* bytes used */
    size_t cap;   /* bytes allocated */
    int err;      /* out of memory */
};
void metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void metrics_buf_label(struct metrics_buf *b, const char *value);
void metrics_buf_free(struct metrics_buf *b);
/* Writes "# HELP name help\n# TYPE name type\n". */
void metrics_buf_family(struct metrics_buf *b, const char *name, const char *type, const char *help);
/* Writes a histogram's _bucket/_sum/_count lines for name{label="value"}. */
void metrics_buf_hist(struct metrics_buf *b, const char *name, const char *label, const char *value,
                      const struct metrics_hist *h);

#endif
