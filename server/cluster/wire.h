/* What nodes of a cluster say to each other through Redis (I/O-free: encode and decode only).
 *
 * One PUBLISH payload is a batch: a header (magic "YMC1", the sending node's name and incarnation)
 * followed by frames, each {type, user, session id, flag, bytes}:
 *   P  a YMSG packet for user's session `sid` on the receiving node, built by the sender exactly as it
 *      would be for a local session (the header carries that session's id and version);
 *   K  end user's session `sid` (flag 1: quietly, it logged in elsewhere; 0: with the sign-off fan-out);
 *   U  user's session `sid` on the sending node: its record (wire_record below), after any change;
 *   D  user's session `sid` on the sending node is over;
 *   L  a crumb and cookies the sending node's HTTP login issued to user (wire_login), F  its use
 *      (flag 1: spent by a good 0x54 login, its Y/T stay valid for the web; 0: gone);
 *   G  an AMF gateway session logged in as user (flag 0, with its DSId), ended (1) or used (2).
 *   W  the watch list of user's session `sid` on the receiving node changed on the sending node (an
 *      authorisation answered there): body = the buddy's id; flag: enum wire_watch_op (the receiving
 *      node keeps its index and tells its session what it now sees);
 *   C  a conference changed on the sending node (body: wire_put_conf, per participant; user: whose packet
 *     changed it);
 *   R  user (the sending node's session) joined (flag 1) or left (0) the chat room named by the body;
 * A session record (the directory entry in Redis, and U's bytes) is a list of {tag, length, value}
 * fields.  Every length is checked against what is left: a malformed batch or record is refused whole
 * (-1), never read past its end. */
#ifndef YMSGD_CLUSTER_WIRE_H
#define YMSGD_CLUSTER_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "server.h"

#define WIRE_NODE_MAX 47     /* longest node name */
#define WIRE_FRAME_MAX (1u << 24) /* largest frame body accepted (a record with 4 full name sets fits) */

enum wire_type {
    WIRE_PACKET = 'P', WIRE_KICK = 'K', WIRE_UPDATE = 'U', WIRE_DELETE = 'D',
    WIRE_LOGIN = 'L',  /* an HTTP login's crumb and cookies for user (wire_login), valid on every node */
    WIRE_FORGET = 'F', /* that crumb was used (body: the Y cookie value): gone everywhere */
    WIRE_GATEWAY = 'G', /* an AMF gateway session of user (wire_gw); flag: enum wire_gw_op */
    WIRE_WATCH = 'W',   /* a watch-list change for user's session (body: the buddy's id); flag: enum wire_watch_op */
    WIRE_CONF = 'C',    /* a conference's state after a change, per participant (wire_put_conf) */
    WIRE_ROOM = 'R',    /* user joined (flag 1) / left (0) the chat room named by the body */
};

/* W frames: the receiving node's session starts (WATCH) or stops (UNWATCH) watching the id in the body;
 * FORGET (to every node, user = the id, empty body): the account is gone, nobody watches it any more. */
enum wire_watch_op { WIRE_UNWATCH = 0, WIRE_WATCH_ON = 1, WIRE_WATCH_FORGET = 2 };

/* A growable byte buffer (grow.h's rule: a failure is returned, nothing dropped). */
struct wire_buf {
    uint8_t *p;  /* bytes */
    size_t len;  /* used */
    size_t cap;  /* allocated */
};
int wire_put(struct wire_buf *b, const void *p, size_t n); /* 0, or -1 out of memory (b unchanged) */
void wire_buf_free(struct wire_buf *b);

/* Batch header for node (its name) and epoch (its incarnation, µs). */
int wire_put_header(struct wire_buf *b, const char *node, int64_t epoch);
/* Reads the header: 0 with *off past it, or -1 when malformed. */
int wire_get_header(const uint8_t *p, size_t len, char node[WIRE_NODE_MAX + 1], int64_t *epoch, size_t *off);

struct wire_frame {
    uint8_t type;                /* enum wire_type */
    uint8_t flag;                /* K: 1 = quietly */
    char user[NAME_MAX_LEN + 1]; /* a valid, normalised id */
    uint32_t sid;                /* session id */
    const uint8_t *data;         /* body (inside the batch) */
    uint32_t len;                /* its bytes */
};
int wire_put_frame(struct wire_buf *b, const struct wire_frame *f);
/* The next frame from *off: 1 with f filled, 0 at the end, -1 when malformed. */
int wire_next(const uint8_t *p, size_t len, size_t *off, struct wire_frame *f);

/* An HTTP login's secrets as shared between nodes (auth.h's struct auth_login). */
#define WIRE_SECRET_MAX 47
struct wire_login {
    char crumb[WIRE_SECRET_MAX + 1], y[WIRE_SECRET_MAX + 1], t[WIRE_SECRET_MAX + 1], b[WIRE_SECRET_MAX + 1];
    uint32_t ttl_ms; /* how long it stays valid from now */
};
int wire_put_login(struct wire_buf *b, const struct wire_login *l);
int wire_get_login(const uint8_t *p, size_t len, struct wire_login *l); /* 0, or -1 when malformed */

/* An AMF gateway session as shared between nodes (server/gateway/session.c): the YMSGAMF cookie
 * value (32 lower-case hex digits), and with WIRE_GW_UP its Flex DSId (36 characters of an upper-case
 * 8-4-4-4-12 UUID) and whether the DSId alone carries it (0) or the cookie must come with it (1). */
enum wire_gw_op { WIRE_GW_UP = 0, WIRE_GW_END = 1, WIRE_GW_USED = 2 };
#define WIRE_GW_COOKIE 32
#define WIRE_GW_DSID 36
struct wire_gw {
    char cookie[WIRE_GW_COOKIE + 1]; /* cookie value */
    char dsid[WIRE_GW_DSID + 1];     /* DSId ("" unless WIRE_GW_UP) */
    uint8_t bound;                   /* WIRE_GW_UP: the cookie must come with the DSId */
};
/* Encodes g for op (the DSId and bound only with WIRE_GW_UP).  0, or -1 (malformed g, out of memory). */
int wire_put_gw(struct wire_buf *b, int op, const struct wire_gw *g);
/* Decodes the body of a G frame with flag op: 0, or -1 when malformed. */
int wire_get_gw(const uint8_t *p, size_t len, int op, struct wire_gw *g);

/* A session as the directory knows it: what can_see(), the presence packets and the IM path read of
 * another node's session (struct conn's fields of the same names). */
struct wire_record {
    char node[WIRE_NODE_MAX + 1]; /* where it is */
    int64_t epoch;                /* that node's incarnation */
    int64_t login_us;             /* wall time of its login: of two sessions of one user the later wins */
    uint64_t seq;                 /* per node, grows with every record it sends: a stale one is ignored */
    uint32_t sid;                 /* session id */
    uint16_t version;             /* client's header version */
    uint8_t old_proto, invisible, away, away_sent, msg_utf8; /* see struct conn */
    uint32_t status;              /* presence code */
    int64_t idle_since;           /* wall time idle began */
    uint32_t pres_seq;            /* status changes its node announced: a new one is a status change */
    char status_msg[256];         /* custom status text */
    uint8_t has_msg;              /* status_msg is set (it may be "") */
    struct nameset sets;          /* its allow, ignore, stealth and talked sets: see struct conn (owned: wire_record_free) */
};
/* Encodes c (a local session) with node, epoch and seq.  No watch list: every node keeps its own
 * sessions' watches (a record of an older node that lists them is read, the list skipped). */
int wire_put_record(struct wire_buf *b, const struct conn *c, const char *node, int64_t epoch, uint64_t seq);
/* Decodes a record: 0, or -1 when malformed or out of memory (r is left empty). */
int wire_get_record(const uint8_t *p, size_t len, struct wire_record *r);
void wire_record_free(struct wire_record *r);

/* A conference's state (conf.h's struct conf_snap): the room name (1..CONF_ROOM_MAX bytes, no control
 * bytes), its clock, and every entry: name, state, stamp (clock, node), and for a present participant
 * the stamp that added it and its shown bits (over the present entries).  Decoding refuses a bad name
 * or node, a duplicate participant, a present entry after a departed one, more than 64 present or
 * CONF_GONE_MAX departed, a stamp later than the clock, shown bits past the present, bytes left over. */
int wire_put_conf(struct wire_buf *b, const struct conf_snap *s);
int wire_get_conf(const uint8_t *p, size_t len, struct conf_snap *s); /* 0, or -1 when malformed */

#endif
