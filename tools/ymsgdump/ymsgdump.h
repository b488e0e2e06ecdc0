/* ymsgdump internals: frame parsing (link layer, IPv4/IPv6, TCP), TCP stream reassembly and the dump
 * driver.  Split out of main.c so that the unit tests and the fuzz harness drive the same code the
 * program runs, from memory. */
#ifndef YMSGDUMP_H
#define YMSGDUMP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- frames ------------------------------------------------------------------------------------ */

/* One TCP endpoint. */
struct yd_endpoint {
    uint8_t family;         /* 4 or 6 */
    uint8_t ip[16];         /* address, network order (first 4 bytes for IPv4) */
    uint16_t port;          /* host order */
};

#define YD_TCP_FIN 0x01
#define YD_TCP_SYN 0x02
#define YD_TCP_RST 0x04
#define YD_TCP_ACK 0x10

/* One TCP segment found in a captured frame.  data points into the frame. */
struct yd_segment {
    struct yd_endpoint src; /* sender */
    struct yd_endpoint dst; /* receiver */
    uint32_t seq;           /* sequence number of the first payload byte (or of the SYN) */
    uint8_t flags;          /* YD_TCP_* */
    const uint8_t *data;    /* captured payload */
    size_t caplen;          /* payload bytes present in the capture */
    size_t len;             /* payload bytes on the wire (> caplen when the snap length cut it) */
};

/* Link-layer types ymsgdump understands (pcap DLT values; DLT_RAW is 12 or 14 depending on the
 * platform headers, linktype 101 is mapped to it by libpcap). */
int yd_linktype_supported(int dlt);

/* Parses one frame.  Returns 1 and fills *seg for a TCP segment, 0 for anything else (other
 * protocols, IP fragments, frames too short to hold the headers they announce). */
int yd_parse_frame(int dlt, const uint8_t *frame, size_t caplen, struct yd_segment *seg);

/* "127.0.0.1:5050" or "[::1]:5050" into out (at least YD_ENDPOINT_STRLEN bytes). */
#define YD_ENDPOINT_STRLEN 56
void yd_endpoint_str(const struct yd_endpoint *ep, char *out, size_t cap);

/* ---- TCP reassembly ---------------------------------------------------------------------------- */

/* Segments waiting for a hole to be filled. */
struct yd_held {
    struct yd_held *next;   /* next by sequence number */
    uint32_t seq;           /* first byte */
    uint32_t len;           /* bytes covered */
    uint8_t hole;           /* 1: bytes missing from the capture (no data), delivered as a gap */
    uint8_t data[];         /* len bytes unless hole */
};

/* One direction of a connection. */
struct yd_half {
    uint8_t have_seq;       /* next is valid */
    uint8_t saw_syn;        /* the stream started with a SYN in the capture */
    uint8_t fin;            /* a FIN was seen; fin_seq is valid */
    uint8_t done;           /* every byte up to the FIN has been delivered */
    uint32_t next;          /* next sequence number to deliver */
    uint32_t isn;           /* sequence number of the SYN, when saw_syn */
    uint32_t fin_seq;       /* sequence number of the FIN */
    struct yd_held *held;   /* out-of-order segments, sorted, possibly overlapping */
    struct yd_held *held_tail; /* last of them: segments after a hole mostly arrive in order */
    size_t held_bytes;      /* their data plus per-segment overhead: the reassembly buffer in use */
    uint64_t delivered;     /* stream bytes delivered so far (data and gaps) */
};

/* A connection.  ep[0] is the client, ep[1] the server; half[d] carries ep[d]'s bytes. */
struct yd_flow {
    struct yd_endpoint ep[2];   /* client, server */
    struct yd_half half[2];     /* client->server, server->client */
    struct yd_flow *hnext;      /* hash chain */
    struct yd_flow *prev, *next;/* LRU list, least recently used first */
    uint64_t id;                /* 1, 2, ... in order of first appearance */
    uint8_t ended;              /* closed (FIN both ways or RST): kept only to ignore late segments */
    uint8_t evicted;            /* ended early to stay within max_streams */
    void *user;                 /* consumer state (created/freed by the callbacks' owner) */
};

/* What the reassembler reports, synchronously, from yd_reasm_segment()/yd_reasm_finish(). */
struct yd_reasm_cb {
    void *ctx;              /* passed back to every callback */
    /* In-order bytes of direction dir (0 client->server, 1 server->client). */
    void (*data)(void *ctx, struct yd_flow *f, int dir, const uint8_t *p, size_t n);
    /* n bytes of direction dir are missing from the capture (lost, cut, or given up on). */
    void (*gap)(void *ctx, struct yd_flow *f, int dir, uint64_t n);
    /* The flow ends (FIN both ways, RST, eviction or end of input): release f->user. */
    void (*close)(void *ctx, struct yd_flow *f);
};

/* Limits (knobs of the command line). */
struct yd_reasm_limits {
    size_t max_streams;     /* connections tracked at once; the least recently active is evicted */
    size_t max_buffer;      /* out-of-order bytes (with per-segment overhead) held per direction
                               before giving up on a hole */
};
#define YD_DEFAULT_MAX_STREAMS 4096
#define YD_DEFAULT_MAX_BUFFER  (1u << 20)

/* Counters, for tests and the summary. */
struct yd_reasm_stats {
    uint64_t flows;         /* connections seen */
    uint64_t evicted;       /* closed early because of max_streams */
    uint64_t retransmitted; /* segments whose bytes had all been delivered already */
    uint64_t late;          /* segments of a connection that had already ended */
    uint64_t overflows;     /* holes given up on because of max_buffer */
    uint64_t gap_bytes;     /* bytes reported through the gap callback */
};

struct yd_reasm;
/* NULL on allocation failure. */
struct yd_reasm *yd_reasm_new(const struct yd_reasm_limits *lim, const struct yd_reasm_cb *cb);
/* Feeds one segment.  Returns 0, or -1 when memory ran out (the segment is dropped). */
int yd_reasm_segment(struct yd_reasm *r, const struct yd_segment *seg);
/* Delivers everything still held (with gaps for the holes) and closes every flow. */
void yd_reasm_finish(struct yd_reasm *r);
const struct yd_reasm_stats *yd_reasm_stats(const struct yd_reasm *r);
/* Finishes (if not done) and frees. */
void yd_reasm_free(struct yd_reasm *r);

/* ---- the dump ---------------------------------------------------------------------------------- */

struct yd_options {
    int json;               /* one JSON object per packet instead of text */
    int raw;                /* input is a raw YMSG byte stream, whatever its first bytes */
    int color;              /* ANSI colours in text output */
    int http;               /* print the first line of each HTTP request/response */
    size_t max_streams;     /* see struct yd_reasm_limits */
    size_t max_buffer;      /* see struct yd_reasm_limits */
    size_t max_body;        /* YMSG bodies larger than this are malformed (<= 65535) */
};
void yd_options_default(struct yd_options *o);

/* Exit statuses (documented in ymsgdump.1). */
#define YD_EXIT_OK        0 /* every YMSG packet decoded */
#define YD_EXIT_MALFORMED 1 /* some YMSG data was malformed, truncated or missing from the capture */
#define YD_EXIT_INPUT     2 /* input unreadable (cannot open, unknown format, corrupt capture) or usage */

/* Dumps the capture or stream read from in (which it does not close) to out; diagnostics, each
 * prefixed with name, go to err.  Returns a YD_EXIT_* status. */
int yd_dump(FILE *in, const char *name, FILE *out, FILE *err, const struct yd_options *o);

#endif
