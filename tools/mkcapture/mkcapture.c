/* mkcapture: writes a sample capture of a YMSG16 session (loopback IPv4/TCP, handshake, both
 * directions, real sequence numbers and checksums), its packets built with libymsg's builder.
 *
 * The session: an HTTP capacity request on its own connection, then AUTH + challenge, AUTHRESP,
 * LIST_15 in two chunks (status 5 then 0), STATUS_15, messages (UTF-8, Latin-1 without key 97, a buzz),
 * typing, 0xC6 status changes, PEERTOPEER with a binary key, keepalive, ping and logoff.  Options shape
 * the TCP layer (segment size, reordering, retransmissions) so the same YMSG content can be checked
 * through different reassembly paths, and --sessions interleaves many sessions for a large capture.
 * Output is deterministic. */
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ymsg/ymsg.h"

#define MAX_SESSIONS 20000
#define START_TIME 1767225600   /* 2026-01-01 00:00:00 UTC */

#ifndef DLT_LINUX_SLL
#define DLT_LINUX_SLL 113
#endif

/* One TCP connection: both byte streams as they will appear on the wire. */
struct conn {
    uint8_t ip[2][4];           /* client, server address */
    uint16_t port[2];           /* client, server port */
    uint32_t isn[2];            /* initial sequence numbers */
    uint8_t *stream[2];         /* every byte each side sends */
    size_t len[2];              /* bytes in stream[] */
    size_t cap[2];              /* allocated size of stream[] */
    size_t acked[2];            /* stream bytes of the other side acknowledged so far */
};

/* One captured frame, described by stream offsets so that retransmissions can be derived. */
struct frame {
    struct conn *c;             /* connection */
    int dir;                    /* 0 client->server, 1 server->client */
    uint8_t flags;              /* TCP flags */
    size_t off;                 /* stream offset of the first payload byte */
    size_t len;                 /* payload bytes */
    uint32_t ack;               /* acknowledgement number */
    size_t wend;                /* stream offset where this frame's application write ends */
    int syn_fin_extra;          /* 1 when a FIN sent earlier precedes this frame's sequence number */
};

#define F_FIN 0x01
#define F_SYN 0x02
#define F_PSH 0x08
#define F_ACK 0x10

/* The frames of the session being built; finished sessions are kept in sessions[]. */
static struct frame *frames;
static size_t nframes, capframes;

/* One finished session's frames, in capture order. */
struct session_frames {
    struct frame *f;            /* frames */
    size_t n;                   /* how many */
};
static size_t mss = 1460;

static void die(const char *what)
{
    fprintf(stderr, "mkcapture: %s\n", what);
    exit(2);
}

static void add_frame(struct conn *c, int dir, uint8_t flags, size_t off, size_t len)
{
    if (nframes == capframes) {
        capframes = capframes ? capframes * 2 : 256;
        frames = realloc(frames, capframes * sizeof *frames);
        if (!frames)
            die("out of memory");
    }
    struct frame *f = &frames[nframes++];
    memset(f, 0, sizeof *f);
    f->c = c;
    f->dir = dir;
    f->flags = flags;
    f->off = off;
    f->len = len;
    /* ACK everything the other side has sent so far (+1 for its SYN; FIN is added by the caller). */
    f->ack = c->isn[!dir] + 1 + (uint32_t)c->len[!dir];
}

static void conn_init(struct conn *c, uint16_t cport, uint16_t sport, uint32_t isn_c, uint32_t isn_s)
{
    memset(c, 0, sizeof *c);
    for (int d = 0; d < 2; d++) {
        c->ip[d][0] = 127;
        c->ip[d][3] = 1;
    }
    c->port[0] = cport;
    c->port[1] = sport;
    c->isn[0] = isn_c;
    c->isn[1] = isn_s;
    add_frame(c, 0, F_SYN, 0, 0);
    frames[nframes - 1].ack = 0;
    add_frame(c, 1, F_SYN | F_ACK, 0, 0);
    add_frame(c, 0, F_ACK, 0, 0);
}

/* One application write: segmented at mss, then acknowledged by the peer. */
static void conn_send(struct conn *c, int dir, const void *data, size_t n)
{
    if (c->len[dir] + n > c->cap[dir]) {
        size_t nc = c->cap[dir] ? c->cap[dir] : 4096;
        while (nc < c->len[dir] + n)
            nc *= 2;
        c->stream[dir] = realloc(c->stream[dir], nc);
        if (!c->stream[dir])
            die("out of memory");
        c->cap[dir] = nc;
    }
    size_t off = c->len[dir];
    memcpy(c->stream[dir] + off, data, n);
    for (size_t done = 0; done < n; done += mss) {
        size_t k = n - done < mss ? n - done : mss;
        add_frame(c, dir, F_ACK | F_PSH, off + done, k);
        frames[nframes - 1].wend = off + n;
    }
    c->len[dir] += n;
    add_frame(c, !dir, F_ACK, c->len[!dir], 0);
}

static void conn_close(struct conn *c)
{
    add_frame(c, 0, F_FIN | F_ACK, c->len[0], 0);
    add_frame(c, 1, F_FIN | F_ACK, c->len[1], 0);
    frames[nframes - 1].ack += 1;                   /* the client's FIN */
    add_frame(c, 0, F_ACK, c->len[0], 0);
    frames[nframes - 1].ack += 1;
    frames[nframes - 1].syn_fin_extra = 1;         /* its sequence number is past our FIN */
}

/* ---- the YMSG session ------------------------------------------------------------------------- */

static uint8_t pbuf[65536];
static struct ymsg_builder b;

static void begin(uint16_t service, uint32_t status, uint32_t session)
{
    ymsg_builder_reset(&b);
    ymsg_build_begin(&b, service, status, session);
}

static void kv(uint32_t key, const char *val) { ymsg_build_str(&b, key, val); }
static void kvb(uint32_t key, const void *val, size_t n) { ymsg_build_kv(&b, key, val, n); }

/* Finishes the packet and appends it to the pending write. */
static uint8_t wbuf[65536 * 2];
static size_t wlen;
static void end(void)
{
    ssize_t n = ymsg_build_end(&b);
    if (n < 0) {
        fprintf(stderr, "mkcapture: builder: %s\n", ymsg_strerror((int)n));
        exit(2);
    }
    if (wlen + b.len > sizeof wbuf)
        die("write too long");
    memcpy(wbuf + wlen, b.buf, b.len);
    wlen += b.len;
}

static void flush(struct conn *c, int dir)
{
    conn_send(c, dir, wbuf, wlen);
    wlen = 0;
}

#define C2S 0
#define S2C 1
#define SESSION_BASE 0x5A3C9E11u

/* Every connection, freed at exit (the frames point into their streams until the file is written). */
static struct conn **conns;
static size_t nconns;

static struct conn *conn_new(void)
{
    struct conn *c = calloc(1, sizeof *c);
    struct conn **n = realloc(conns, (nconns + 1) * sizeof *conns);
    if (!c || !n)
        die("out of memory");
    conns = n;
    conns[nconns++] = c;
    return c;
}

static void conns_free(void)
{
    for (size_t i = 0; i < nconns; i++) {
        free(conns[i]->stream[0]);
        free(conns[i]->stream[1]);
        free(conns[i]);
    }
    free(conns);
    conns = NULL;
    nconns = 0;
}

/* Session k (0 for the sample): its own client port, session id and sequence numbers. */
/* HTTP capacity look-up (libpurple and OpenYMSG do this first), on its own connection. */
static void session_capacity(void)
{
    struct conn *http = conn_new();
    conn_init(http, 40001, 8080, 0x1000AAAAu, 0x2000BBBBu);
    static const char req[] = "GET /capacity HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    static const char resp[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                               "COLO_CAPACITY=1\r\nCS_IP_ADDRESS=127.0.0.1\r\n";
    conn_send(http, C2S, req, sizeof req - 1);
    conn_send(http, S2C, resp, sizeof resp - 1);
    conn_close(http);
}

/* Token login (§5.1): 0x57 both ways, then the 0x54. */
static void session_login(struct conn *c, uint32_t sid)
{
    begin(YMSG_SVC_AUTH, 0, 0);
    kv(1, "alice");
    end();
    flush(c, C2S);

    begin(YMSG_SVC_AUTH, 1, sid);
    kv(1, "alice");
    kv(94, "x^0+1-2*3/4%5");
    kv(13, "2");
    end();
    flush(c, S2C);

    begin(YMSG_SVC_AUTHRESP, YMSG_STATUS_WEBLOGIN, sid);
    kv(1, "alice");
    kv(0, "alice");
    kv(277, "v=1&n=fake&l=alice/o&p=1&r=1&lg=en-US&intl=us");
    kv(278, "z=fake&a=1&sk=1&ks=1&d=1");
    kv(307, "BQE_U9_xt0ZH3ezzSTx8bA--");
    kv(244, "4194239");
    kv(2, "alice");
    kv(2, "1");
    kv(59, "B\tfakeb&b=3&s=1");
    kv(98, "us");
    kv(135, "9.0.0.2162");
    end();
    flush(c, C2S);
}

/* The roster: LIST_15 in two chunks and the buddies' presence. */
static void session_roster(struct conn *c, uint32_t sid)
{
    /* LIST_15 in two chunks: "Friends" continues into the second packet (as Pidgin allows). */
    begin(YMSG_SVC_LIST_15, YMSG_PKT_CONTINUED, sid);
    kv(302, "318");
    kv(300, "318");
    kv(65, "Friends");
    kv(302, "319");
    kv(300, "319");
    kv(7, "bob");
    kv(301, "319");
    kv(300, "319");
    kv(7, "carol");
    kv(223, "1");
    kv(301, "319");
    end();
    begin(YMSG_SVC_LIST_15, YMSG_PKT_DEFAULT, sid);
    kv(300, "319");
    kv(7, "dave@live.com");
    kv(241, "2");
    kv(301, "319");
    kv(303, "319");
    kv(301, "318");
    kv(300, "318");
    kv(65, "Co-workers, \"old\" | new");
    kv(302, "319");
    kv(300, "319");
    kv(7, "erin");
    kv(317, "2");
    kv(301, "319");
    kv(303, "319");
    kv(301, "318");
    kv(303, "318");
    kv(302, "320");
    kv(300, "320");
    kv(7, "mallory");
    kv(301, "320");
    kv(303, "320");
    end();
    begin(YMSG_SVC_STATUS_15, 0, sid);
    kv(302, "315");
    kv(300, "315");
    kv(7, "bob");
    kv(10, "0");
    kv(13, "1");
    kv(192, "-1370541580");
    kv(213, "1");
    kv(244, "4194239");
    kv(301, "315");
    kv(300, "315");
    kv(7, "carol");
    kv(10, "99");
    kv(19, "Out to lunch \xE2\x80\x94 back at 2");
    kv(47, "1");
    kv(97, "1");
    kv(13, "1");
    kv(137, "300");
    kv(301, "315");
    kv(303, "315");
    end();
    flush(c, S2C);
}

/* Chat: status, messages (UTF-8, formatted, Latin-1), typing, a buzz, a peer-to-peer offer. */
static void session_chat(struct conn *c, uint32_t sid)
{
    begin(YMSG_SVC_PING, 1, sid);
    kv(143, "60");
    kv(144, "1");
    end();
    flush(c, S2C);

    begin(YMSG_SVC_Y6_STATUS_UPDATE, 0, sid);
    kv(10, "0");
    kv(19, "");
    kv(47, "0");
    end();
    flush(c, C2S);

    begin(YMSG_SVC_MESSAGE, 1, sid);
    kv(4, "bob");
    kv(5, "alice");
    kv(14, "h\xC3\xA9llo \xE2\x80\x94 \xC3\xBC\x6E\xC3\xAF\x63\xC3\xB6\x64\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80");
    kv(97, "1");
    kv(63, ";0");
    kv(64, "0");
    kv(206, "2");
    kv(429, "0001795587520571");
    kv(450, "0");
    end();
    flush(c, S2C);

    begin(YMSG_SVC_MESSAGE_ACK, 0, sid);
    kv(1, "alice");
    kv(5, "bob");
    kv(302, "430");
    kv(430, "0001795587520571");
    kv(303, "430");
    kv(450, "0");
    end();
    begin(YMSG_SVC_NOTIFY, YMSG_STATUS_NOTIFY, sid);
    kv(49, "TYPING");
    kv(1, "alice");
    kv(14, " ");
    kv(13, "1");
    kv(5, "bob");
    end();
    flush(c, C2S);

    begin(YMSG_SVC_MESSAGE, YMSG_STATUS_OFFLINE, sid);
    kv(1, "alice");
    kv(5, "bob");
    kv(97, "1");
    kv(14, "\x1B[1mhi bob\x1B[x1m, a|b, \"quoted\" \\ back\tslash\r\nline two \xE2\x82\xAC");
    kv(63, ";0");
    kv(64, "0");
    kv(1002, "1");
    kv(206, "0");
    end();
    flush(c, C2S);

    begin(YMSG_SVC_NOTIFY, YMSG_STATUS_NOTIFY, sid);
    kv(49, "TYPING");
    kv(1, "alice");
    kv(14, " ");
    kv(13, "0");
    kv(5, "bob");
    end();
    begin(YMSG_SVC_MESSAGE, YMSG_STATUS_OFFLINE, sid);    /* buzz */
    kv(1, "alice");
    kv(5, "bob");
    kv(14, "<ding>");
    kv(63, ";0");
    kv(64, "0");
    kv(206, "0");
    end();
    flush(c, C2S);

    /* An old client's message: no key 97, text in the local code page (Latin-1). */
    begin(YMSG_SVC_MESSAGE, 1, sid);
    kv(4, "bob");
    kv(5, "alice");
    kv(14, "caf\xE9 cr\xE8me br\xFBl\xE9" "e \xA9 2009");
    kv(15, "1795587521");
    end();
    flush(c, S2C);

    /* Peer-to-peer offer with binary keys: raw IPv4 bytes in 12, and a token that is not UTF-8
     * (a lone C0, an overlong form, a surrogate, NUL, DEL, 0xFF). */
    begin(YMSG_SVC_PEERTOPEER, 11, sid);
    kv(4, "bob");
    kv(5, "alice");
    kvb(12, "\xC0\xA8\x01\x42", 4);
    kvb(61, "\x00\x01\x7F\xFF\xC0\x41\xC1\xBF\xED\xA0\x80\xF8\x88\x80\x80\x80\xE2\x82", 18);
    kv(13, "5");
    kv(49, "PEERTOPEER");
    end();
    flush(c, S2C);

}

/* Away and back, keepalives and pings both ways, then bob and alice sign off. */
static void session_signoff(struct conn *c, uint32_t sid)
{
    begin(YMSG_SVC_Y6_STATUS_UPDATE, 1, sid);
    kv(7, "bob");
    kv(10, "2");
    kv(19, "");
    kv(47, "1");
    kv(187, "0");
    end();
    flush(c, S2C);

    begin(YMSG_SVC_Y6_STATUS_UPDATE, 0, sid);
    kv(10, "99");
    kv(19, "In a meeting, back soon");
    kv(97, "1");
    kv(47, "1");
    kv(187, "0");
    end();
    flush(c, C2S);

    begin(YMSG_SVC_KEEPALIVE, 0, sid);
    kv(0, "alice");
    end();
    flush(c, C2S);
    begin(YMSG_SVC_KEEPALIVE, 1, sid);
    end();
    flush(c, S2C);

    begin(YMSG_SVC_PING, 0, sid);
    end();
    flush(c, C2S);
    begin(YMSG_SVC_PING, 1, sid);
    end();
    flush(c, S2C);

    begin(YMSG_SVC_LOGOFF, 1, sid);     /* bob signs off */
    kv(7, "bob");
    end();
    flush(c, S2C);

    begin(YMSG_SVC_LOGOFF, 0, sid);
    kv(0, "alice");
    end();
    flush(c, C2S);
}

/* Session k: its own TCP connection (session 0 also does the HTTP capacity look-up first). */
static void build_session(unsigned k)
{
    const uint32_t sid = SESSION_BASE + k;
    if (k == 0)
        session_capacity();
    struct conn *c = conn_new();
    /* the client's sequence numbers wrap past 2^32 in the sample session */
    conn_init(c, (uint16_t)(40002 + k), 5050, 0xFFFFF000u + k * 7919u, 0x7A31C0DEu + k * 104729u);
    ymsg_builder_init(&b, pbuf, sizeof pbuf);
    session_login(c, sid);
    session_roster(c, sid);
    session_chat(c, sid);
    session_signoff(c, sid);
    conn_close(c);
}

/* ---- TCP-level shaping -------------------------------------------------------------------------- */

static int is_data(const struct frame *f) { return f->len > 0; }

/* Swaps adjacent data segments of the same direction: every pair arrives out of order. */
static void reorder(void)
{
    for (size_t i = 0; i + 1 < nframes; i++) {
        struct frame *a = &frames[i], *z = &frames[i + 1];
        if (is_data(a) && is_data(z) && a->c == z->c && a->dir == z->dir) {
            struct frame t = *a;
            *a = *z;
            *z = t;
            i++;
        }
    }
}

/* After every data segment: an exact retransmission, and every other time a segment overlapping
 * the second half of this one and the start of the next one of the same write (which then arrives
 * anyway). */
static void retransmit(void)
{
    struct frame *out = malloc(nframes * 3 * sizeof *out);
    if (!out)
        die("out of memory");
    size_t n = 0, k = 0;
    for (size_t i = 0; i < nframes; i++) {
        out[n++] = frames[i];
        if (!is_data(&frames[i]))
            continue;
        out[n++] = frames[i];
        const struct frame *f = &frames[i];
        if (k++ % 2 == 0 && f->len >= 2) {
            struct frame o = *f;
            size_t start = f->off + f->len / 2;
            size_t stop = f->off + f->len + 7;
            if (stop > f->wend)
                stop = f->wend;
            o.off = start;
            o.len = stop - start;
            out[n++] = o;
        }
    }
    free(frames);
    frames = out;
    nframes = capframes = n;
}

/* ---- writing ------------------------------------------------------------------------------------ */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xFFFF) + (s >> 16);
    return (uint16_t)~s;
}

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Link-layer header for dlt; returns its length. */
static size_t link_header(int dlt, int dir, uint8_t *p)
{
    switch (dlt) {
    case DLT_EN10MB:
        memset(p, 0, 12);
        put16(p + 12, 0x0800);
        return 14;
    case DLT_NULL:
        p[0] = 2; p[1] = p[2] = p[3] = 0;     /* AF_INET, little-endian host */
        return 4;
    case DLT_LOOP:
        put32(p, 2);
        return 4;
    case DLT_LINUX_SLL:
        put16(p, dir ? 4 : 0);                /* sent by us / to us */
        put16(p + 2, 772);                    /* ARPHRD_LOOPBACK */
        put16(p + 4, 6);
        memset(p + 6, 0, 8);
        put16(p + 14, 0x0800);
        return 16;
    default:                                  /* raw IP */
        return 0;
    }
}

static size_t build_frame(int dlt, const struct frame *f, uint16_t ipid, uint8_t *out)
{
    const struct conn *c = f->c;
    size_t l = link_header(dlt, f->dir, out);
    uint8_t *ip = out + l, *tcp = ip + 20;
    size_t tot = 20 + 20 + f->len;
    memset(ip, 0, 40);
    ip[0] = 0x45;
    put16(ip + 2, (uint32_t)tot);
    put16(ip + 4, ipid);
    put16(ip + 6, 0x4000);                    /* DF */
    ip[8] = 64;
    ip[9] = 6;
    memcpy(ip + 12, c->ip[f->dir], 4);
    memcpy(ip + 16, c->ip[!f->dir], 4);
    put16(ip + 10, fold(sum16(ip, 20, 0)));
    put16(tcp, c->port[f->dir]);
    put16(tcp + 2, c->port[!f->dir]);
    uint32_t seq = c->isn[f->dir] + ((f->flags & F_SYN) ? 0 : 1) + (uint32_t)f->off +
                   (uint32_t)f->syn_fin_extra;
    put32(tcp + 4, seq);
    put32(tcp + 8, (f->flags & F_ACK) ? f->ack : 0);
    tcp[12] = 5 << 4;
    tcp[13] = f->flags;
    put16(tcp + 14, 65495);
    memcpy(tcp + 20, c->stream[f->dir] + f->off, f->len);
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 6;
    put16(pseudo + 10, (uint32_t)(20 + f->len));
    put16(tcp + 16, fold(sum16(tcp, 20 + f->len, sum16(pseudo, 12, 0))));
    return l + tot;
}

static int parse_linktype(const char *s)
{
    if (!strcmp(s, "ether") || !strcmp(s, "en10mb")) return DLT_EN10MB;
    if (!strcmp(s, "null")) return DLT_NULL;
    if (!strcmp(s, "loop")) return DLT_LOOP;
    if (!strcmp(s, "raw")) return DLT_RAW;
    if (!strcmp(s, "sll")) return DLT_LINUX_SLL;
    return -1;
}

static void usage(FILE *to)
{
    fputs("usage: mkcapture [--linktype ether|null|loop|raw|sll] [--mss N] [--reorder] [--retransmit]\n"
          "                 [--sessions N] OUT.pcap    |  mkcapture --version\n"
          "Writes a sample YMSG16 session (loopback IPv4/TCP) as a pcap file.  --sessions N writes N\n"
          "concurrent sessions (client ports 40002...), e.g. for timing ymsgdump on a large capture.\n", to);
}

int main(int argc, char **argv)
{
    int dlt = DLT_EN10MB, do_reorder = 0, do_retransmit = 0;
    unsigned nsessions = 1;
    static const struct option opts[] = {
        {"linktype", required_argument, NULL, 'l'},
        {"mss", required_argument, NULL, 'm'},
        {"reorder", no_argument, NULL, 'o'},
        {"retransmit", no_argument, NULL, 't'},
        {"sessions", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            dlt = parse_linktype(optarg);
            if (dlt < 0) {
                fprintf(stderr, "mkcapture: unknown link type %s\n", optarg);
                return 2;
            }
            break;
        case 'm': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 65000) {
                fprintf(stderr, "mkcapture: bad --mss %s (1..65000)\n", optarg);
                return 2;
            }
            mss = (size_t)v;
            break;
        }
        case 's': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > MAX_SESSIONS) {
                fprintf(stderr, "mkcapture: bad --sessions %s (1..%d)\n", optarg, MAX_SESSIONS);
                return 2;
            }
            nsessions = (unsigned)v;
            break;
        }
        case 'o': do_reorder = 1; break;
        case 't': do_retransmit = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("mkcapture %s\n", YMSG_PACKAGE_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind != 1) {
        usage(stderr);
        return 2;
    }
    struct session_frames *sess = calloc(nsessions, sizeof *sess);
    if (!sess)
        die("out of memory");
    size_t rounds = 0;
    for (unsigned k = 0; k < nsessions; k++) {
        build_session(k);
        if (do_reorder)
            reorder();
        if (do_retransmit)
            retransmit();
        sess[k].f = frames;
        sess[k].n = nframes;
        if (nframes > rounds)
            rounds = nframes;
        frames = NULL;
        nframes = capframes = 0;
    }

    pcap_t *p = pcap_open_dead(dlt, 65535);
    if (!p)
        die("pcap_open_dead failed");
    pcap_dumper_t *d = pcap_dump_open(p, argv[optind]);
    if (!d) {
        fprintf(stderr, "mkcapture: %s\n", pcap_geterr(p));
        pcap_close(p);
        return 2;
    }
    static uint8_t buf[16 + 40 + 65536];
    /* Sessions run side by side: round-robin over their frames, each session's order kept. */
    size_t i = 0;
    for (size_t r = 0; r < rounds; r++)
    for (unsigned k = 0; k < nsessions; k++, i++) {
        if (r >= sess[k].n) {
            i--;
            continue;
        }
        size_t n = build_frame(dlt, &sess[k].f[r], (uint16_t)(i + 1), buf);
        struct pcap_pkthdr h;
        h.ts.tv_sec = START_TIME + (time_t)(i / 1000);
        h.ts.tv_usec = (suseconds_t)((i % 1000) * 1000 + 17);
        h.caplen = h.len = (bpf_u_int32)n;
        pcap_dump((u_char *)d, &h, buf);
    }
    int bad = pcap_dump_flush(d) != 0;
    pcap_dump_close(d);
    pcap_close(p);
    for (unsigned k = 0; k < nsessions; k++)
        free(sess[k].f);
    free(sess);
    conns_free();
    if (bad) {
        fprintf(stderr, "mkcapture: %s: write failed: %s\n", argv[optind], strerror(errno));
        return 2;
    }
    return 0;
}
