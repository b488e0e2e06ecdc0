/* The file-transfer relay (docs/FILE_TRANSFER.md): the transfers the pager has seen offered
 * (pager/filexfer.c), their tokens, and the HTTP(S) listeners the clients upload to
 * (POST /relay?token=…&sender=…&recver=…) and download from (HEAD, then GET).
 *
 * Files are streamed to DATA/relay/ as they arrive (never held whole in memory) and sent back in
 * chunks read from disk.  A file is deleted after its download, when its transfer ends (decline,
 * cancel, failed upload), at its time-to-live (relay_ttl) and at start (leftovers).  Bounded by
 * relay_max_file, relay_quota and relay_max_transfers per sender, http_max_conns connections.
 *
 * In a cluster a GET/HEAD for a token this node does not hold, naming with holder= the relay_host of
 * another live node (published in its heartbeat hash), is proxied to that node's relay, streamed with
 * backpressure (docs/FILE_TRANSFER.md §4): a browser page reaches only its own node's relay.
 *
 * The listeners are ours (bufferevents, not evhttp): evhttp reads a whole request body into memory
 * before its handler runs. */
#ifndef YMSGD_RELAY_H
#define YMSGD_RELAY_H

#include <stddef.h>
#include <stdint.h>

struct server;
struct relay;
struct relay_conn;
struct event;

#define RELAY_ID_MAX 64         /* longest transfer id (key 265) accepted */
#define RELAY_NAME_MAX 255      /* longest file name (key 27) accepted */
#define RELAY_TOKEN_LEN 32      /* hex digits of a token (128 random bits) */
#define RELAY_USER_MAX 32       /* longest user id (NAME_MAX_LEN) */

/* Where a transfer is. */
enum relay_state {
    RELAY_OFFERED,   /* 0xDC offer passed on; no token yet */
    RELAY_ISSUED,    /* 0xDD answered: token handed out, waiting for the upload */
    RELAY_UPLOADING, /* the sender's POST is being written to DATA/relay/TOKEN.part */
    RELAY_STORED,    /* the whole file is in DATA/relay/TOKEN */
    RELAY_SENDING,   /* the receiver's GET is being answered */
};

/* One transfer, from the offer to its end (read-only outside relay.c). */
struct relay_xfer {
    struct relay *r;                    /* owner */
    char sender[RELAY_USER_MAX + 1];    /* who offered (the uploader) */
    char recver[RELAY_USER_MAX + 1];    /* who receives (the downloader) */
    char id[RELAY_ID_MAX + 1];          /* the clients' transfer id (key 265) */
    char name[RELAY_NAME_MAX + 1];      /* file name (key 27) */
    uint64_t size;                      /* offered size (key 28): the upload must be exactly this */
    char token[RELAY_TOKEN_LEN + 1];    /* "" until relay_issue() */
    char key[2 * RELAY_USER_MAX + RELAY_ID_MAX + 3]; /* "sender\1recver\1id": the offers map's key */
    enum relay_state state;             /* see enum relay_state */
    struct event *ttl;                  /* ends the transfer at relay_ttl */
    struct relay_conn *up;              /* the upload in progress, or NULL */
    struct relay_conn *down;            /* the download held or in progress, or NULL */
};

/* Results of relay_offer() / relay_issue(). */
enum relay_result {
    RELAY_OK = 0,
    RELAY_OFF = 1,       /* no relay listener configured */
    RELAY_TOO_LARGE = 2, /* size 0 or over relay_max_file */
    RELAY_QUOTA = 3,     /* the sender's bytes on the relay would pass relay_quota */
    RELAY_TOO_MANY = 4,  /* the sender has relay_max_transfers pending */
    RELAY_DUPLICATE = 5, /* a transfer with this sender, receiver and id exists */
    RELAY_FAILED = 6,    /* out of memory / no randomness */
};
/* Short text for key 16 of a refusal. */
const char *relay_result_text(int rc);

/* Told when a transfer ends by the relay's doing (upload stopped, TTL, download done), so the pager
 * can tell the users.  why: "downloaded", "expired", "upload failed". */
typedef void (*relay_end_fn)(void *arg, const struct relay_xfer *x, const char *why);

/* Starts the relay: empties DATA/relay/ (leftovers of an earlier run) and opens relay_listen /
 * relay_tls_listen when set.  NULL with a reason in err. */
struct relay *relay_new(struct server *srv, char *err, size_t errlen);
void relay_free(struct relay *r);
void relay_set_end_hook(struct relay *r, relay_end_fn fn, void *arg);
/* Says whether "host:port" is the relay of another live node of the cluster (cluster_relay_live):
 * the only relays a download this node does not hold is proxied to.  Without one nothing is. */
typedef int (*relay_holder_fn)(struct server *srv, const char *relay);
void relay_set_holder_check(struct relay *r, relay_holder_fn fn);
/* "HOST:PORT" for key 250, or NULL when the relay is off. */
const char *relay_host(const struct relay *r);
/* The relay's URLs for browsers as connect-src sources, space separated ("http://h:p https://h:p2"),
 * or NULL when the relay is off: relay_public_url, else derived from the listeners.  The page picks
 * the one its own scheme allows (an https page: an https one). */
#define RELAY_PUBLIC_URLS 4   /* URLs relay_public_url may list */
#define RELAY_PUBLIC_MAX 600  /* bytes of the space-separated list */
const char *relay_public_urls(const struct relay *r);
/* Checks a relay_public_url list and writes it as CSP sources (I/O-free): 0, or -1 with the reason. */
int relay_public_parse(const char *list, char *out, size_t cap, char *err, size_t errlen);

/* A new offer (0xDC 222=1): reserves the size against the sender's quota.  RELAY_OK or a refusal. */
int relay_offer(struct relay *r, const char *sender, const char *recver, const char *id, const char *name,
                uint64_t size);
/* The transfer sender -> recver with id, or NULL. */
struct relay_xfer *relay_find(struct relay *r, const char *sender, const char *recver, const char *id);
/* 0xDD from the sender: makes x's token (x->token).  RELAY_OK, or RELAY_DUPLICATE when it has one. */
int relay_issue(struct relay *r, struct relay_xfer *x);
/* Ends x (decline, cancel): closes its HTTP connections, deletes its file, frees it.  No hook call. */
void relay_end(struct relay *r, struct relay_xfer *x, const char *why);
/* Transfers alive (tests, metrics). */
size_t relay_count(const struct relay *r);

/* ---- the request head (I/O-free; fuzzed by tests/fuzz/fuzz_relay_http.c) ---- */
enum relay_method { RELAY_M_GET = 1, RELAY_M_HEAD = 2, RELAY_M_POST = 3, RELAY_M_OPTIONS = 4 };
#define RELAY_ORIGIN_MAX 255   /* longest Origin header taken (a longer one gets no CORS) */
#define RELAY_HOLDER_MAX 127   /* longest holder= ("host:port" of another node's relay) taken */

struct relay_req {
    enum relay_method method;            /* GET / HEAD / POST, or OPTIONS (a CORS preflight: only origin set) */
    char token[RELAY_TOKEN_LEN + 1];     /* query token= */
    char sender[RELAY_USER_MAX + 1];     /* query sender= (normalised id) */
    char recver[RELAY_USER_MAX + 1];     /* query recver= (normalised id) */
    uint64_t length;                     /* Content-Length (0 when absent) */
    int has_length;                      /* a Content-Length header was there */
    char cookie_y[48];                   /* Y cookie value, "" when none */
    char cookie_t[48];                   /* T cookie value, "" when none */
    char origin[RELAY_ORIGIN_MAX + 1];   /* Origin header (a browser page's), "" when none or too long */
    char holder[RELAY_HOLDER_MAX + 1];   /* query holder= (key 250 of the transfer: the relay holding it), "" when none */
    size_t head_len;                     /* bytes of the head, through the empty line */
    int status;                          /* on -1: the HTTP status to answer (400, 404, 405, 411, 431, 501) */
};
/* Parses the head at buf.  1: complete (out filled), 0: more bytes needed, -1: refused (out->status;
 * origin is filled when the head was well framed, so a refusal can carry CORS). */
int relay_parse_head(const char *buf, size_t len, struct relay_req *out);

#endif
