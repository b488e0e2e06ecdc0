/* The packet builder: appends packets to a caller-owned buffer that it never writes past.
 *
 * Errors are sticky (like curl's dynbuf or a FILE's error flag): the first failure is kept in b->err,
 * every later call is a no-op returning it, and the half-built packet is dropped (b->len goes back to
 * where it started), so b->buf[0..b->len) always holds complete packets only.  A caller can chain a
 * dozen ymsg_build_* calls and check ymsg_build_end() once.
 *
 * "No packet open" is b->start == SIZE_MAX; build_kv/build_end then fail with YMSG_ESTATE. */
#include "codec_internal.h"

#define NO_PACKET SIZE_MAX

void ymsg_builder_init(struct ymsg_builder *b, uint8_t *buf, size_t cap)
{
    b->buf = buf;
    b->cap = buf ? cap : 0;
    b->len = 0;
    b->start = NO_PACKET;
    b->err = 0;
    b->version = YMSG_VERSION;
    b->vendor = 0;
}

void ymsg_builder_reset(struct ymsg_builder *b)
{
    b->len = 0;
    b->start = NO_PACKET;
    b->err = 0;
}

static int fail(struct ymsg_builder *b, int err)
{
    b->err = err;
    if (b->start != NO_PACKET) {
        b->len = b->start;
        b->start = NO_PACKET;
    }
    return err;
}

int ymsg_build_begin(struct ymsg_builder *b, uint16_t service, uint32_t status, uint32_t session)
{
    if (b->err)
        return b->err;
    if (b->start != NO_PACKET)
        return fail(b, YMSG_ESTATE);
    if (b->cap - b->len < YMSG_HEADER_LEN)
        return fail(b, YMSG_ENOSPC);
    struct ymsg_header h = {
        .version = b->version,
        .vendor = b->vendor,
        .length = 0,
        .service = service,
        .status = status,
        .session = session,
        .version_le = 0,
    };
    ymsg_header_encode(b->buf + b->len, &h);
    b->start = b->len;
    b->len += YMSG_HEADER_LEN;
    return 0;
}

/* Decimal digits of key into out (at most 10); returns the count. */
static size_t fmt_u32(uint32_t v, uint8_t out[10])
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Appends one raw pair whose key digits are given. */
static int append_pair(struct ymsg_builder *b, const uint8_t *kd, size_t kn, const void *val, size_t len)
{
    size_t need = kn + 2 + len + 2;
    size_t body = b->len - b->start - YMSG_HEADER_LEN;
    if (len > YMSG_MAX_BODY || body + need > YMSG_MAX_BODY)
        return fail(b, YMSG_ETOOBIG);
    if (b->cap - b->len < need)
        return fail(b, YMSG_ENOSPC);
    uint8_t *w = b->buf + b->len;
    memcpy(w, kd, kn);
    w += kn;
    *w++ = YMSG_SEP0;
    *w++ = YMSG_SEP1;
    if (len)
        memcpy(w, val, len);
    w += len;
    *w++ = YMSG_SEP0;
    *w++ = YMSG_SEP1;
    b->len += need;
    return 0;
}

int ymsg_build_set_status(struct ymsg_builder *b, uint32_t status)
{
    if (b->err)
        return b->err;
    if (b->start == NO_PACKET)
        return fail(b, YMSG_ESTATE);
    ymsg_wr32_(b->buf + b->start + 12, status);
    return 0;
}

int ymsg_build_kv(struct ymsg_builder *b, uint32_t key, const void *val, size_t len)
{
    if (b->err)
        return b->err;
    if (b->start == NO_PACKET)
        return fail(b, YMSG_ESTATE);
    if (len && !val)
        return fail(b, YMSG_EINVAL);
    if (len >= 2 && ymsg_find_sep_(val, val, (const uint8_t *)val + len))
        return fail(b, YMSG_EVALUE);
    uint8_t kd[10];
    size_t kn = fmt_u32(key, kd);
    return append_pair(b, kd, kn, val, len);
}

int ymsg_build_str(struct ymsg_builder *b, uint32_t key, const char *s)
{
    return ymsg_build_kv(b, key, s ? s : "", s ? strlen(s) : 0);
}

int ymsg_build_int(struct ymsg_builder *b, uint32_t key, long long v)
{
    char tmp[24];
    size_t n = 0;
    /* work on the magnitude as unsigned so LLONG_MIN is fine */
    unsigned long long m = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + m % 10);
        m /= 10;
    } while (m);
    if (v < 0)
        tmp[sizeof tmp - 1 - n++] = '-';
    return ymsg_build_kv(b, key, tmp + sizeof tmp - n, n);
}

int ymsg_build_pairs(struct ymsg_builder *b, const struct ymsg_packet *pkt)
{
    if (b->err)
        return b->err;
    if (b->start == NO_PACKET)
        return fail(b, YMSG_ESTATE);
    if (!pkt)
        return fail(b, YMSG_EINVAL);
    /* A decoded body is already a valid sequence of pairs: copy it whole.  Keys keep their exact
     * spelling, so a relayed packet is byte-identical to the original body. */
    size_t n = pkt->hdr.length;
    if (n == 0)
        return 0;
    if (!pkt->body)
        return fail(b, YMSG_EINVAL);
    size_t body = b->len - b->start - YMSG_HEADER_LEN;
    if (body + n > YMSG_MAX_BODY)
        return fail(b, YMSG_ETOOBIG);
    if (b->cap - b->len < n)
        return fail(b, YMSG_ENOSPC);
    memcpy(b->buf + b->len, pkt->body, n);
    b->len += n;
    return 0;
}

ssize_t ymsg_build_end(struct ymsg_builder *b)
{
    if (b->err)
        return b->err;
    if (b->start == NO_PACKET)
        return fail(b, YMSG_ESTATE);
    size_t size = b->len - b->start;
    ymsg_wr16_(b->buf + b->start + 8, (uint16_t)(size - YMSG_HEADER_LEN));
    b->start = NO_PACKET;
    return (ssize_t)size;
}
