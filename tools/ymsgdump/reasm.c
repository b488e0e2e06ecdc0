/* TCP stream reassembly: per connection and direction, bytes are delivered once each, in sequence
 * order.  Out-of-order segments wait in a sorted list bounded by max_buffer bytes; retransmitted and
 * overlapping bytes are trimmed (the first copy seen wins); bytes missing from the capture are reported
 * as gaps rather than waited for forever.  Connections live in a hash table bounded by max_streams,
 * with the least recently active one evicted to make room (ended connections first in practice, as they
 * stop being active). */
#include "ymsgdump.h"

#include <stdlib.h>
#include <string.h>

struct yd_reasm {
    struct yd_reasm_limits lim;  /* knobs */
    struct yd_reasm_cb cb;       /* consumer */
    struct yd_flow **buckets;    /* hash table, nbuckets entries */
    size_t nbuckets;             /* power of two */
    size_t nflows;               /* flows in the table */
    struct yd_flow *lru_head;    /* least recently active */
    struct yd_flow *lru_tail;    /* most recently active */
    struct yd_reasm_stats st;    /* counters */
};

/* Sequence-number arithmetic modulo 2^32 (RFC 1982 style). */
static int seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static int seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }

static int ep_eq(const struct yd_endpoint *a, const struct yd_endpoint *b)
{
    return a->family == b->family && a->port == b->port &&
           memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4) == 0;
}

static uint64_t ep_hash(const struct yd_endpoint *e)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    size_t n = e->family == 6 ? 16 : 4;
    for (size_t i = 0; i < n; i++)
        h = (h ^ e->ip[i]) * 1099511628211ull;
    h = (h ^ (e->port & 0xFF)) * 1099511628211ull;
    h = (h ^ (e->port >> 8)) * 1099511628211ull;
    return h;
}

/* Symmetric in the two endpoints, so both directions land in the same bucket. */
static size_t flow_bucket(const struct yd_reasm *r, const struct yd_endpoint *a,
                          const struct yd_endpoint *b)
{
    uint64_t h = ep_hash(a) ^ ep_hash(b);
    h ^= h >> 29;
    return (size_t)(h & (r->nbuckets - 1));
}

struct yd_reasm *yd_reasm_new(const struct yd_reasm_limits *lim, const struct yd_reasm_cb *cb)
{
    struct yd_reasm *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->lim = *lim;
    if (r->lim.max_streams == 0)
        r->lim.max_streams = 1;
    r->cb = *cb;
    r->nbuckets = 16;
    while (r->nbuckets < r->lim.max_streams * 2 && r->nbuckets < ((size_t)1 << 24))
        r->nbuckets <<= 1;
    r->buckets = calloc(r->nbuckets, sizeof *r->buckets);
    if (!r->buckets) {
        free(r);
        return NULL;
    }
    return r;
}

const struct yd_reasm_stats *yd_reasm_stats(const struct yd_reasm *r) { return &r->st; }

static void lru_unlink(struct yd_reasm *r, struct yd_flow *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        r->lru_head = f->next;
    if (f->next)
        f->next->prev = f->prev;
    else
        r->lru_tail = f->prev;
    f->prev = f->next = NULL;
}

static void lru_append(struct yd_reasm *r, struct yd_flow *f)
{
    f->prev = r->lru_tail;
    f->next = NULL;
    if (r->lru_tail)
        r->lru_tail->next = f;
    else
        r->lru_head = f;
    r->lru_tail = f;
}

static void deliver(struct yd_reasm *r, struct yd_flow *f, int d, const uint8_t *p, size_t n)
{
    struct yd_half *h = &f->half[d];
    h->next += (uint32_t)n;
    h->delivered += n;
    if (n && r->cb.data)
        r->cb.data(r->cb.ctx, f, d, p, n);
}

static void deliver_gap(struct yd_reasm *r, struct yd_flow *f, int d, uint32_t n)
{
    struct yd_half *h = &f->half[d];
    h->next += n;
    h->delivered += n;
    r->st.gap_bytes += n;
    if (n && r->cb.gap)
        r->cb.gap(r->cb.ctx, f, d, n);
}

/* What a held segment counts against max_buffer: its data and its bookkeeping, so that a flood of
 * tiny segments is bounded as well as a few big ones. */
static size_t held_cost(const struct yd_held *s)
{
    return sizeof *s + (s->hole ? 0 : s->len);
}

/* Delivers whatever held segments have become contiguous with h->next. */
static void drain(struct yd_reasm *r, struct yd_flow *f, int d)
{
    struct yd_half *h = &f->half[d];
    struct yd_held *s;
    while ((s = h->held) != NULL && seq_le(s->seq, h->next)) {
        uint32_t skip = h->next - s->seq;
        h->held = s->next;
        if (!h->held)
            h->held_tail = NULL;
        h->held_bytes -= held_cost(s);
        if (skip < s->len) {
            if (s->hole)
                deliver_gap(r, f, d, s->len - skip);
            else
                deliver(r, f, d, s->data + skip, s->len - skip);
        }
        free(s);
    }
    if (h->fin && !h->done && seq_le(h->fin_seq, h->next))
        h->done = 1;
}

/* Gives up on the hole before the first held segment: reports it as a gap and moves on. */
static void skip_hole(struct yd_reasm *r, struct yd_flow *f, int d)
{
    struct yd_half *h = &f->half[d];
    if (h->held && seq_lt(h->next, h->held->seq))
        deliver_gap(r, f, d, h->held->seq - h->next);
    drain(r, f, d);
}

static void flush_half(struct yd_reasm *r, struct yd_flow *f, int d)
{
    while (f->half[d].held)
        skip_hole(r, f, d);
}

/* The connection is over: everything held is delivered and the consumer told.  The flow stays in the
 * table (like TCP's TIME-WAIT) so that the final ACK and late retransmissions are not taken for a new
 * connection; only a new SYN replaces it. */
static void flow_end(struct yd_reasm *r, struct yd_flow *f)
{
    if (f->ended)
        return;
    f->ended = 1;
    flush_half(r, f, 0);
    flush_half(r, f, 1);
    if (r->cb.close)
        r->cb.close(r->cb.ctx, f);
}

static void flow_free(struct yd_reasm *r, struct yd_flow *f)
{
    flow_end(r, f);
    struct yd_flow **pp = &r->buckets[flow_bucket(r, &f->ep[0], &f->ep[1])];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    lru_unlink(r, f);
    r->nflows--;
    free(f);
}

/* Which side is the client, from the first segment of a connection seen in the capture. */
static int sender_is_client(const struct yd_segment *s)
{
    if (s->flags & YD_TCP_SYN)
        return !(s->flags & YD_TCP_ACK);
    unsigned sp = s->src.port, dp = s->dst.port;
    if ((sp < 1024) != (dp < 1024))        /* a well-known port is the server's */
        return dp < 1024;
    if ((sp >= 32768) != (dp >= 32768))    /* an ephemeral port is the client's */
        return sp >= 32768;
    return 1;                              /* otherwise whoever spoke first */
}

static struct yd_flow *flow_find(struct yd_reasm *r, const struct yd_segment *s, int *dir)
{
    for (struct yd_flow *f = r->buckets[flow_bucket(r, &s->src, &s->dst)]; f; f = f->hnext) {
        if (ep_eq(&f->ep[0], &s->src) && ep_eq(&f->ep[1], &s->dst)) {
            *dir = 0;
            return f;
        }
        if (ep_eq(&f->ep[1], &s->src) && ep_eq(&f->ep[0], &s->dst)) {
            *dir = 1;
            return f;
        }
    }
    return NULL;
}

static struct yd_flow *flow_new(struct yd_reasm *r, const struct yd_segment *s, int *dir)
{
    if (r->nflows >= r->lim.max_streams && r->lru_head) {
        if (!r->lru_head->ended) {
            r->st.evicted++;
            r->lru_head->evicted = 1;
        }
        flow_free(r, r->lru_head);
    }
    struct yd_flow *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    int c = sender_is_client(s);
    f->ep[0] = c ? s->src : s->dst;
    f->ep[1] = c ? s->dst : s->src;
    *dir = c ? 0 : 1;
    f->id = ++r->st.flows;
    size_t b = flow_bucket(r, &f->ep[0], &f->ep[1]);
    f->hnext = r->buckets[b];
    r->buckets[b] = f;
    lru_append(r, f);
    r->nflows++;
    return f;
}

/* Holds [seq, seq+len) for later; data NULL means a hole (bytes the capture does not have). */
static int hold(struct yd_reasm *r, struct yd_flow *f, int d, uint32_t seq, const uint8_t *data,
                uint32_t len)
{
    struct yd_half *h = &f->half[d];
    struct yd_held **pp = &h->held;
    if (h->held_tail && seq_le(h->held_tail->seq, seq))
        pp = &h->held_tail;     /* after the last one: no walk (checked for covering below) */
    while (*pp && seq_le((*pp)->seq, seq)) {
        /* Already covered by a held segment: a retransmission of out-of-order data. */
        if (!(*pp)->hole && data && seq_le(seq + len, (*pp)->seq + (*pp)->len)) {
            r->st.retransmitted++;
            return 0;
        }
        pp = &(*pp)->next;
    }
    struct yd_held *s = malloc(sizeof *s + (data ? len : 0));
    if (!s)
        return -1;
    s->seq = seq;
    s->len = len;
    s->hole = data == NULL;
    if (data)
        memcpy(s->data, data, len);
    s->next = *pp;
    *pp = s;
    if (!s->next)
        h->held_tail = s;
    h->held_bytes += held_cost(s);
    /* Bounded buffer: stop waiting for the oldest hole rather than hold more. */
    while (h->held_bytes > r->lim.max_buffer && h->held) {
        r->st.overflows++;
        skip_hole(r, f, d);
    }
    return 0;
}

/* Bytes [seq, seq+len) of direction d, of which the first caplen are in data. */
static int add_bytes(struct yd_reasm *r, struct yd_flow *f, int d, uint32_t seq,
                     const uint8_t *data, size_t caplen, size_t len)
{
    struct yd_half *h = &f->half[d];
    if (len == 0)
        return 0;
    if (len > 0x7FFFFFFF)   /* not a real segment; keeps the modular arithmetic meaningful */
        return 0;
    uint32_t end = seq + (uint32_t)len;
    if (seq_le(end, h->next)) {
        r->st.retransmitted++;
        return 0;
    }
    if (seq_lt(seq, h->next)) {             /* overlap with delivered bytes: trim the front */
        uint32_t skip = h->next - seq;
        seq += skip;
        len -= skip;
        if (caplen > skip) {
            data += skip;
            caplen -= skip;
        } else {            /* the new bytes are all in the part the capture cut off */
            caplen = 0;
        }
    }
    if (seq == h->next && !h->held) {       /* the common case: in order, nothing waiting */
        deliver(r, f, d, data, caplen);
        if (caplen < len)
            deliver_gap(r, f, d, (uint32_t)(len - caplen));
        drain(r, f, d);
        return 0;
    }
    int rc = 0;
    if (caplen)
        rc = hold(r, f, d, seq, data, (uint32_t)caplen);
    if (rc == 0 && caplen < len)
        rc = hold(r, f, d, seq + (uint32_t)caplen, NULL, (uint32_t)(len - caplen));
    drain(r, f, d);
    return rc;
}

int yd_reasm_segment(struct yd_reasm *r, const struct yd_segment *s)
{
    int d;
    struct yd_flow *f = flow_find(r, s, &d);
    if (f && (s->flags & YD_TCP_SYN) && !(s->flags & YD_TCP_ACK) &&
        (f->ended || (f->half[d].have_seq && !(f->half[d].saw_syn && f->half[d].isn == s->seq)))) {
        /* A new connection reusing the 4-tuple of one that ended (or whose end we did not see). */
        flow_free(r, f);
        f = NULL;
    }
    if (f && f->ended) {
        r->st.late++;
        return 0;
    }
    if (!f) {
        if (s->flags & YD_TCP_RST)
            return 0;
        f = flow_new(r, s, &d);
        if (!f)
            return -1;
    } else {
        lru_unlink(r, f);
        lru_append(r, f);
    }
    struct yd_half *h = &f->half[d];
    uint32_t seq = s->seq;
    if (s->flags & YD_TCP_SYN) {
        if (!h->have_seq) {
            h->have_seq = 1;
            h->saw_syn = 1;
            h->isn = seq;
            h->next = seq + 1;
        }
        seq++;                  /* the SYN occupies one sequence number; data follows it */
    }
    if (!h->have_seq) {         /* joined mid-stream: start where the capture starts */
        h->have_seq = 1;
        h->next = seq;
    }
    int rc = 0;
    if (!h->done)
        rc = add_bytes(r, f, d, seq, s->data, s->caplen, s->len);
    if ((s->flags & YD_TCP_FIN) && !h->fin) {
        h->fin = 1;
        h->fin_seq = seq + (uint32_t)s->len;
        drain(r, f, d);
    }
    if ((s->flags & YD_TCP_RST) || (f->half[0].done && f->half[1].done))
        flow_end(r, f);
    return rc;
}

void yd_reasm_finish(struct yd_reasm *r)
{
    while (r->lru_head)
        flow_free(r, r->lru_head);
}

void yd_reasm_free(struct yd_reasm *r)
{
    if (!r)
        return;
    yd_reasm_finish(r);
    free(r->buckets);
    free(r);
}
