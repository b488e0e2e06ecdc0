/* The dump driver: input detection (pcap, pcapng, raw YMSG), the per-stream YMSG decoder fed by the
 * TCP reassembler, and the text/JSON printers. */
#include "ymsgdump.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "ymsg/ymsg.h"

/* A stream that began before the capture did is searched this far for a first "YMSG". */
#define SCAN_LIMIT (64u * 1024)
/* Longest HTTP first line printed by --http. */
#define HTTP_LINE_MAX 512
#define FIRST_BUF 4096

enum stream_mode { MODE_UNKNOWN, MODE_YMSG, MODE_OTHER };

#define DATA(s) ((s)->buf + (s)->off)

/* The YMSG decoder state of one direction of one connection (or of the raw input). */
struct stream {
    enum stream_mode mode;  /* what the stream turned out to be */
    uint8_t scan;           /* no clean start seen: look for the first "YMSG" anywhere */
    uint8_t resync;         /* after an error or a gap: skipping to the next "YMSG" */
    uint8_t http_done;      /* --http: first line handled */
    uint8_t *buf;           /* buffer; the undecoded bytes are buf[off .. off+len) */
    size_t off;             /* start of the undecoded bytes (compacted only when space is needed) */
    size_t len;             /* undecoded bytes */
    size_t cap;             /* size of buf; grows up to the largest packet allowed */
    uint64_t base;          /* stream offset of buf[0] */
    uint64_t scanned;       /* bytes skipped while scanning/resyncing */
    uint64_t resync_at;     /* stream offset where the current resync started */
};

/* Consumer state of one connection (yd_flow.user). */
struct flowstate {
    struct stream st[2];    /* client->server, server->client */
};

/* Everything one yd_dump() call needs. */
struct dump {
    const struct yd_options *o;  /* options */
    const char *name;       /* input name for diagnostics */
    FILE *out;              /* packets */
    FILE *err;              /* diagnostics */
    struct ymsg_limits lim; /* decoder limits */
    size_t maxcap;          /* header + max_body: the largest buffer a stream needs */
    uint64_t frame;         /* current pcap record number (1-based), 0 for raw input */
    struct timeval ts;      /* its timestamp */
    uint64_t packets;       /* YMSG packets printed */
    uint64_t malformed;     /* problems in YMSG data (errors, truncation, gaps) */
    int raw;                /* raw input: no addresses, offsets instead of frames */
    char *text;             /* scratch for ymsg_packet_format/json */
    size_t textcap;         /* its size */
};

void yd_options_default(struct yd_options *o)
{
    memset(o, 0, sizeof *o);
    o->max_streams = YD_DEFAULT_MAX_STREAMS;
    o->max_buffer = YD_DEFAULT_MAX_BUFFER;
    o->max_body = YMSG_MAX_BODY;
}

/* ---- diagnostics -------------------------------------------------------------------------------- */

static void where(struct dump *c, const struct yd_flow *f, int d)
{
    fprintf(c->err, "ymsgdump: %s: ", c->name);
    if (c->raw)
        return;
    char a[YD_ENDPOINT_STRLEN], b[YD_ENDPOINT_STRLEN];
    yd_endpoint_str(&f->ep[d], a, sizeof a);
    yd_endpoint_str(&f->ep[!d], b, sizeof b);
    fprintf(c->err, "frame %llu: %s -> %s: ", (unsigned long long)c->frame, a, b);
}

static void problem(struct dump *c, const struct yd_flow *f, int d, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(struct dump *c, const struct yd_flow *f, int d, const char *fmt, ...)
{
    va_list ap;
    where(c, f, d);
    va_start(ap, fmt);
    vfprintf(c->err, fmt, ap);
    va_end(ap);
    fputc('\n', c->err);
}

/* ---- printing ----------------------------------------------------------------------------------- */

/* Runs ymsg_packet_format or _json into c->text, growing it as needed; NULL if memory ran out. */
static const char *render(struct dump *c, const struct ymsg_packet *pkt, int json)
{
    for (int tries = 0; tries < 2; tries++) {
        int n = json ? ymsg_packet_json(pkt, c->text, c->textcap)
                     : ymsg_packet_format(pkt, c->text, c->textcap);
        if (n < 0)
            return NULL;
        if ((size_t)n < c->textcap)
            return c->text;
        char *t = realloc(c->text, (size_t)n + 1);
        if (!t)
            return NULL;
        c->text = t;
        c->textcap = (size_t)n + 1;
    }
    return NULL;
}

static void json_endpoint(FILE *out, const char *key, const struct yd_endpoint *ep)
{
    char s[YD_ENDPOINT_STRLEN];
    yd_endpoint_str(ep, s, sizeof s);
    fprintf(out, ",\"%s\":\"%s\"", key, s);
}

static void emit(struct dump *c, const struct yd_flow *f, int d, uint64_t off,
                 const struct ymsg_packet *pkt)
{
    const char *text = render(c, pkt, c->o->json);
    c->packets++;
    if (!text) {
        problem(c, f, d, "out of memory formatting packet %llu", (unsigned long long)c->packets);
        c->malformed++;
        return;
    }
    if (c->o->json) {
        fprintf(c->out, "{\"n\":%llu", (unsigned long long)c->packets);
        if (c->raw) {
            fputs(",\"frame\":null,\"ts\":null,\"src\":null,\"dst\":null,\"dir\":null", c->out);
        } else {
            fprintf(c->out, ",\"frame\":%llu,\"ts\":%lld.%06ld", (unsigned long long)c->frame,
                    (long long)c->ts.tv_sec, (long)c->ts.tv_usec);
            json_endpoint(c->out, "src", &f->ep[d]);
            json_endpoint(c->out, "dst", &f->ep[!d]);
            fprintf(c->out, ",\"dir\":\"%s\"", d == 0 ? "client->server" : "server->client");
        }
        fprintf(c->out, ",\"offset\":%llu,", (unsigned long long)off);
        fputs(text[0] == '{' ? text + 1 : text, c->out);
        fputc('\n', c->out);
        return;
    }
    const char *on = "", *off_ = "";
    if (c->o->color) {
        on = d == 0 ? "\033[1;36m" : "\033[1;33m";
        off_ = "\033[0m";
    }
    if (c->raw) {
        fprintf(c->out, "%s#%llu offset %llu%s\n", on, (unsigned long long)c->packets,
                (unsigned long long)off, off_);
    } else {
        char a[YD_ENDPOINT_STRLEN], b[YD_ENDPOINT_STRLEN], tbuf[32];
        struct tm tm;
        time_t t = c->ts.tv_sec;
        if (!gmtime_r(&t, &tm) || !strftime(tbuf, sizeof tbuf, "%Y-%m-%d %H:%M:%S", &tm))
            snprintf(tbuf, sizeof tbuf, "%lld", (long long)t);   /* a year out of range */
        yd_endpoint_str(&f->ep[d], a, sizeof a);
        yd_endpoint_str(&f->ep[!d], b, sizeof b);
        fprintf(c->out, "%s#%llu frame %llu %s.%06ld %s -> %s (%s)%s\n", on,
                (unsigned long long)c->packets, (unsigned long long)c->frame, tbuf,
                (long)c->ts.tv_usec, a, b, d == 0 ? "client->server" : "server->client", off_);
    }
    fputs(text, c->out);
    fputc('\n', c->out);
}

/* ---- the per-stream YMSG decoder ------------------------------------------------------------------ */

static void consume(struct stream *s, size_t n)
{
    s->off = s->len == n ? 0 : s->off + n;
    s->len -= n;
    s->base += n;
}

static void become_other(struct stream *s)
{
    s->mode = MODE_OTHER;
    s->base += s->len;
    s->len = 0;
    s->off = 0;
}

static int looks_http(const uint8_t *p, size_t n)
{
    static const char *const starts[] = {"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ",
                                         "CONNECT ", "PATCH ", "HTTP/1."};
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        size_t k = strlen(starts[i]);
        if (n >= k && memcmp(p, starts[i], k) == 0)
            return 1;
    }
    return 0;
}

/* --http: prints the stream's first line once it is complete (or HTTP_LINE_MAX long). */
static void http_line(struct dump *c, const struct yd_flow *f, int d, struct stream *s)
{
    if (s->http_done || !c->o->http || c->raw)
        return;
    const uint8_t *nl = memchr(DATA(s), '\n', s->len);
    if (!nl && s->len < HTTP_LINE_MAX)
        return;
    s->http_done = 1;
    size_t n = nl ? (size_t)(nl - DATA(s)) : HTTP_LINE_MAX;
    if (n > HTTP_LINE_MAX)
        n = HTTP_LINE_MAX;
    if (!looks_http(DATA(s), n))
        return;
    if (n && DATA(s)[n - 1] == '\r')
        n--;
    char a[YD_ENDPOINT_STRLEN], b[YD_ENDPOINT_STRLEN];
    yd_endpoint_str(&f->ep[d], a, sizeof a);
    yd_endpoint_str(&f->ep[!d], b, sizeof b);
    if (c->o->json) {
        fprintf(c->out, "{\"frame\":%llu,\"ts\":%lld.%06ld,\"src\":\"%s\",\"dst\":\"%s\",\"http\":\"",
                (unsigned long long)c->frame, (long long)c->ts.tv_sec, (long)c->ts.tv_usec, a, b);
        for (size_t i = 0; i < n; i++) {
            uint8_t ch = DATA(s)[i];
            if (ch == '"' || ch == '\\')
                fprintf(c->out, "\\%c", ch);
            else if (ch < 0x20 || ch >= 0x7F)
                fprintf(c->out, "\\u%04x", ch);
            else
                fputc(ch, c->out);
        }
        fputs("\"}\n", c->out);
    } else {
        fprintf(c->out, "# frame %llu %s -> %s HTTP: ", (unsigned long long)c->frame, a, b);
        for (size_t i = 0; i < n; i++) {
            uint8_t ch = DATA(s)[i];
            if (ch < 0x20 || ch >= 0x7F)
                fprintf(c->out, "\\x%02X", ch);
            else
                fputc(ch, c->out);
        }
        fputs("\n\n", c->out);
    }
}

static void process(struct dump *c, struct yd_flow *f, int d, struct stream *s)
{
    while (s->len > 0) {
        if (s->mode == MODE_OTHER) {
            http_line(c, f, d, s);
            if (s->http_done || !c->o->http || s->len >= HTTP_LINE_MAX) {
                s->base += s->len;
                s->len = 0;
                s->off = 0;
            }
            return;
        }
        if (s->mode == MODE_UNKNOWN) {
            if (s->len >= 4 && memcmp(DATA(s), "YMSG", 4) == 0) {
                s->mode = MODE_YMSG;
                continue;
            }
            if (s->len < 4 && memcmp(DATA(s), "YMSG", s->len) == 0)
                return;
            if (!s->scan) {
                s->mode = MODE_OTHER;
                continue;
            }
            /* Joined mid-stream: the first packet starts at the first "YMSG", if any. */
            size_t k = ymsg_resync(DATA(s), s->len);
            if (k == 0)
                k = 1;
            if (k > s->len)
                k = s->len;
            s->scanned += k;
            consume(s, k);
            if (s->scanned > SCAN_LIMIT)
                become_other(s);
            continue;
        }
        /* MODE_YMSG */
        if (s->resync) {
            if (s->len >= 4 && memcmp(DATA(s), "YMSG", 4) == 0) {
                s->resync = 0;
                problem(c, f, d, "resynchronised at stream offset %llu (%llu bytes skipped)",
                        (unsigned long long)s->base,
                        (unsigned long long)(s->base - s->resync_at));
                continue;
            }
            if (s->len < 4 && memcmp(DATA(s), "YMSG", s->len) == 0)
                return;             /* a partial "YMS" may still complete */
            size_t k = ymsg_resync(DATA(s), s->len);
            if (k == 0)
                k = 1;
            if (k > s->len)
                k = s->len;
            consume(s, k);
            continue;
        }
        struct ymsg_packet pkt;
        size_t eoff = 0;
        ssize_t r = ymsg_decode(DATA(s), s->len, &c->lim, &pkt, &eoff);
        if (r > 0) {
            emit(c, f, d, s->base, &pkt);
            consume(s, (size_t)r);
            continue;
        }
        if (r == YMSG_EAGAIN)
            return;
        c->malformed++;
        problem(c, f, d, "malformed YMSG packet at stream offset %llu (error at offset %llu): %s; "
                "skipping to the next \"YMSG\"", (unsigned long long)s->base,
                (unsigned long long)(s->base + eoff), ymsg_strerror((int)r));
        s->resync = 1;
        s->resync_at = s->base;
        /* Skip this packet's magic so the search finds the next one. */
        consume(s, s->len < 4 ? s->len : 1);
    }
}

static void feed(struct dump *c, struct yd_flow *f, int d, struct stream *s, const uint8_t *p,
                 size_t n)
{
    while (n > 0) {
        if (s->mode == MODE_OTHER && (s->http_done || !c->o->http || c->raw)) {
            s->base += n;
            return;
        }
        if (s->off && s->off + s->len == s->cap) {
            memmove(s->buf, DATA(s), s->len);
            s->off = 0;
        }
        if (s->len == s->cap) {
            size_t nc = s->cap ? s->cap * 2 : FIRST_BUF;
            if (nc > c->maxcap)
                nc = c->maxcap;
            uint8_t *nb = nc > s->cap ? realloc(s->buf, nc) : NULL;
            if (!nb) {
                /* Full at the largest packet size (cannot happen: such a buffer always decodes or
                 * fails) or out of memory: drop the buffered bytes and resynchronise. */
                problem(c, f, d, "cannot buffer more of this stream at offset %llu (%s); "
                        "skipping %zu bytes", (unsigned long long)s->base,
                        nc > s->cap ? "out of memory" : "buffer full", s->len);
                c->malformed++;
                s->base += s->len;
                s->len = 0;
                s->off = 0;
                if (s->mode == MODE_YMSG) {
                    s->resync = 1;
                    s->resync_at = s->base;
                }
                if (!s->cap)
                    return;
                continue;
            }
            s->buf = nb;
            s->cap = nc;
        }
        size_t k = s->cap - s->off - s->len;
        if (k > n)
            k = n;
        memcpy(DATA(s) + s->len, p, k);
        s->len += k;
        p += k;
        n -= k;
        process(c, f, d, s);
    }
}

static void gap(struct dump *c, struct yd_flow *f, int d, struct stream *s, uint64_t n)
{
    if (s->mode == MODE_OTHER) {
        s->base += n;
        return;
    }
    if (s->mode == MODE_YMSG) {
        c->malformed++;
        if (s->len && !s->resync)
            problem(c, f, d, "%llu bytes missing from the capture at stream offset %llu; dropping the "
                    "partial packet that started at offset %llu",
                    (unsigned long long)n, (unsigned long long)(s->base + s->len),
                    (unsigned long long)s->base);
        else
            problem(c, f, d, "%llu bytes missing from the capture at stream offset %llu",
                    (unsigned long long)n, (unsigned long long)(s->base + s->len));
        if (!s->resync)
            s->resync_at = s->base;
        s->resync = 1;
    } else {
        s->scan = 1;        /* the start is lost: look for the first packet anywhere */
    }
    s->base += s->len + n;
    s->len = 0;
    s->off = 0;
}

/* End of a stream: a YMSG packet cut short is reported. */
static void end_stream(struct dump *c, struct yd_flow *f, int d, struct stream *s)
{
    if (s->mode == MODE_YMSG && !s->resync && s->len > 0) {
        struct ymsg_header h;
        const char *why = f && f->evicted ? "where the connection was dropped to stay within "
                                            "--max-streams" : "at end of stream";
        c->malformed++;
        if (ymsg_header_decode(DATA(s), s->len, &h) == YMSG_HEADER_LEN)
            problem(c, f, d, "truncated YMSG packet %s: stream offset %llu, %zu of %u bytes", why,
                    (unsigned long long)s->base, s->len, (unsigned)(YMSG_HEADER_LEN + h.length));
        else
            problem(c, f, d, "truncated YMSG header %s: stream offset %llu, %zu of %d bytes", why,
                    (unsigned long long)s->base, s->len, YMSG_HEADER_LEN);
    }
    free(s->buf);
    memset(s, 0, sizeof *s);
}

/* ---- reassembler callbacks ---------------------------------------------------------------------- */

static struct flowstate *state_of(struct yd_flow *f)
{
    if (!f->user) {
        struct flowstate *fs = calloc(1, sizeof *fs);
        if (!fs)
            return NULL;
        for (int d = 0; d < 2; d++)
            fs->st[d].scan = !f->half[d].saw_syn;
        f->user = fs;
    }
    return f->user;
}

static void cb_data(void *ctx, struct yd_flow *f, int d, const uint8_t *p, size_t n)
{
    struct flowstate *fs = state_of(f);
    if (fs)
        feed(ctx, f, d, &fs->st[d], p, n);
}

static void cb_gap(void *ctx, struct yd_flow *f, int d, uint64_t n)
{
    struct flowstate *fs = state_of(f);
    if (fs)
        gap(ctx, f, d, &fs->st[d], n);
}

static void cb_close(void *ctx, struct yd_flow *f)
{
    struct flowstate *fs = f->user;
    if (!fs)
        return;
    for (int d = 0; d < 2; d++)
        end_stream(ctx, f, d, &fs->st[d]);
    free(fs);
    f->user = NULL;
}

/* ---- input -------------------------------------------------------------------------------------- */

/* A FILE that first returns the bytes already read to detect the format, then the rest of the
 * input: lets libpcap read stdin or a pipe we have peeked at. */
struct peeked {
    FILE *in;               /* the real input */
    uint8_t head[4];        /* bytes read ahead */
    size_t n;               /* how many */
    size_t off;             /* how many of them were returned */
};

static ssize_t peeked_read(void *cookie, char *buf, size_t size)
{
    struct peeked *pk = cookie;
    size_t got = 0;
    if (pk->off < pk->n) {
        got = pk->n - pk->off < size ? pk->n - pk->off : size;
        memcpy(buf, pk->head + pk->off, got);
        pk->off += got;
    }
    if (got < size) {
        got += fread(buf + got, 1, size - got, pk->in);
        if (got == 0 && ferror(pk->in))
            return -1;
    }
    return (ssize_t)got;
}

static int peeked_close(void *cookie)
{
    (void)cookie;           /* the real input belongs to the caller */
    return 0;
}

static int is_pcap_magic(const uint8_t *m)
{
    static const uint8_t magics[][4] = {
        {0xA1, 0xB2, 0xC3, 0xD4}, {0xD4, 0xC3, 0xB2, 0xA1},   /* pcap, microseconds */
        {0xA1, 0xB2, 0x3C, 0x4D}, {0x4D, 0x3C, 0xB2, 0xA1},   /* pcap, nanoseconds */
        {0x0A, 0x0D, 0x0D, 0x0A},                               /* pcapng section header */
    };
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++)
        if (memcmp(m, magics[i], 4) == 0)
            return 1;
    return 0;
}

static int dump_raw(struct dump *c, FILE *fp)
{
    struct stream s;
    memset(&s, 0, sizeof s);
    s.mode = MODE_YMSG;
    c->raw = 1;
    uint8_t chunk[65536];
    size_t n;
    int rc = YD_EXIT_OK;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        feed(c, NULL, 0, &s, chunk, n);
    if (ferror(fp)) {
        fprintf(c->err, "ymsgdump: %s: read error at offset %llu: %s\n", c->name,
                (unsigned long long)(s.base + s.len), strerror(errno));
        rc = YD_EXIT_INPUT;
    }
    end_stream(c, NULL, 0, &s);
    return rc;
}

static int dump_pcap(struct dump *c, FILE *fp)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_fopen_offline(fp, errbuf);
    if (!p) {
        fprintf(c->err, "ymsgdump: %s: not a readable capture: %s\n", c->name, errbuf);
        fclose(fp);
        return YD_EXIT_INPUT;
    }
    int dlt = pcap_datalink(p);
    if (!yd_linktype_supported(dlt)) {
        const char *dn = pcap_datalink_val_to_name(dlt);
        fprintf(c->err, "ymsgdump: %s: unsupported link-layer type %d (%s); supported: EN10MB, NULL, "
                "LOOP, RAW, IPV4, IPV6, LINUX_SLL, LINUX_SLL2\n", c->name, dlt, dn ? dn : "unknown");
        pcap_close(p);
        return YD_EXIT_INPUT;
    }
    struct yd_reasm_limits lim = {c->o->max_streams, c->o->max_buffer};
    struct yd_reasm_cb cb = {c, cb_data, cb_gap, cb_close};
    struct yd_reasm *r = yd_reasm_new(&lim, &cb);
    if (!r) {
        fprintf(c->err, "ymsgdump: %s: out of memory\n", c->name);
        pcap_close(p);
        return YD_EXIT_INPUT;
    }
    int rc = YD_EXIT_OK, nomem = 0;
    struct pcap_pkthdr *h;
    const u_char *data;
    for (;;) {
        int k = pcap_next_ex(p, &h, &data);
        if (k == PCAP_ERROR_BREAK)
            break;
        if (k != 1) {
            fprintf(c->err, "ymsgdump: %s: capture damaged at frame %llu: %s\n", c->name,
                    (unsigned long long)c->frame + 1, pcap_geterr(p));
            rc = YD_EXIT_INPUT;
            break;
        }
        c->frame++;
        c->ts = h->ts;
        if (c->ts.tv_usec < 0 || c->ts.tv_usec >= 1000000) {   /* a damaged record header */
            c->ts.tv_sec += c->ts.tv_usec / 1000000;
            c->ts.tv_usec %= 1000000;
            if (c->ts.tv_usec < 0)
                c->ts.tv_usec += 1000000;
        }
        struct yd_segment seg;
        if (yd_parse_frame(dlt, data, h->caplen, &seg) == 1 && yd_reasm_segment(r, &seg) < 0 &&
            !nomem++)
            fprintf(c->err, "ymsgdump: %s: frame %llu: out of memory; segments dropped\n", c->name,
                    (unsigned long long)c->frame);
    }
    yd_reasm_free(r);       /* ends every stream: reports packets cut off by the end of input */
    pcap_close(p);
    if (nomem)
        c->malformed++;
    return rc;
}

int yd_dump(FILE *in, const char *name, FILE *out, FILE *err, const struct yd_options *o)
{
    struct dump c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.name = name;
    c.out = out;
    c.err = err;
    ymsg_limits_default(&c.lim);
    if (o->max_body && o->max_body < c.lim.max_body)
        c.lim.max_body = o->max_body;
    c.maxcap = YMSG_HEADER_LEN + c.lim.max_body;
    if (c.maxcap < FIRST_BUF)
        c.maxcap = FIRST_BUF;

    struct peeked pk = {.in = in};
    pk.n = fread(pk.head, 1, sizeof pk.head, in);
    if (pk.n == 0) {
        if (ferror(in))
            fprintf(err, "ymsgdump: %s: read error: %s\n", name, strerror(errno));
        else
            fprintf(err, "ymsgdump: %s: empty input\n", name);
        return YD_EXIT_INPUT;
    }
    int pcap = pk.n == 4 && is_pcap_magic(pk.head);
    if (!o->raw && !pcap && !(pk.n == 4 && memcmp(pk.head, "YMSG", 4) == 0)) {
        fprintf(err, "ymsgdump: %s: not a pcap, pcapng or YMSG stream (first bytes:", name);
        for (size_t i = 0; i < pk.n; i++)
            fprintf(err, " %02x", pk.head[i]);
        fputs("); use --raw to scan it for YMSG packets\n", err);
        return YD_EXIT_INPUT;
    }
    cookie_io_functions_t io = {.read = peeked_read, .close = peeked_close};
    FILE *fp = fopencookie(&pk, "rb", io);
    if (!fp) {
        fprintf(err, "ymsgdump: %s: %s\n", name, strerror(errno));
        return YD_EXIT_INPUT;
    }
    int rc;
    if (pcap && !o->raw) {
        rc = dump_pcap(&c, fp);     /* libpcap closes fp */
    } else {
        rc = dump_raw(&c, fp);
        fclose(fp);
    }
    free(c.text);
    fflush(out);
    if (rc == YD_EXIT_OK && c.malformed)
        rc = YD_EXIT_MALFORMED;
    return rc;
}
