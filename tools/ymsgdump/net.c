/* Frame parsing: link layer -> IPv4/IPv6 -> TCP.  Every length is checked against the captured
 * bytes before it is used; anything that does not add up is "not a TCP segment". */
#include "ymsgdump.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <string.h>

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86DD
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88A8
#define IPPROTO_TCP_ 6

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int yd_linktype_supported(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB: case DLT_NULL: case DLT_LOOP: case DLT_RAW: case DLT_IPV4: case DLT_IPV6:
    case DLT_LINUX_SLL: case DLT_LINUX_SLL2:
        return 1;
    default:
        return dlt == 12 || dlt == 14;   /* DLT_RAW's other value (OpenBSD vs everyone else) */
    }
}

static int parse_tcp(const uint8_t *p, size_t n, size_t wire, struct yd_segment *seg)
{
    if (n < 20)
        return 0;
    size_t hl = (size_t)(p[12] >> 4) * 4;
    if (hl < 20 || hl > n || hl > wire)
        return 0;
    seg->src.port = be16(p);
    seg->dst.port = be16(p + 2);
    seg->seq = be32(p + 4);
    seg->flags = p[13] & (YD_TCP_FIN | YD_TCP_SYN | YD_TCP_RST | YD_TCP_ACK);
    seg->data = p + hl;
    seg->caplen = n - hl;
    seg->len = wire - hl;
    if (seg->caplen > seg->len)        /* Ethernet padding after a short IP packet */
        seg->caplen = seg->len;
    return 1;
}

static int parse_ipv4(const uint8_t *p, size_t n, struct yd_segment *seg)
{
    if (n < 20 || (p[0] >> 4) != 4)
        return 0;
    size_t hl = (size_t)(p[0] & 15) * 4;
    size_t total = be16(p + 2);
    if (hl < 20 || hl > n || total < hl)
        return 0;
    if (p[9] != IPPROTO_TCP_)
        return 0;
    if ((be16(p + 6) & 0x3FFF) != 0)   /* a fragment (MF set or offset != 0): not reassembled */
        return 0;
    if (total == 0)                    /* TSO captures may say 0; trust the capture then */
        total = n;
    if (n > total)
        n = total;
    memset(&seg->src, 0, sizeof seg->src);
    memset(&seg->dst, 0, sizeof seg->dst);
    seg->src.family = seg->dst.family = 4;
    memcpy(seg->src.ip, p + 12, 4);
    memcpy(seg->dst.ip, p + 16, 4);
    return parse_tcp(p + hl, n - hl, total - hl, seg);
}

static int parse_ipv6(const uint8_t *p, size_t n, struct yd_segment *seg)
{
    if (n < 40 || (p[0] >> 4) != 6)
        return 0;
    size_t wire = 40 + (size_t)be16(p + 4);
    uint8_t nh = p[6];
    size_t off = 40;
    if (n > wire)
        n = wire;
    /* Skip the extension headers that may precede TCP; a fragment header ends the search. */
    for (int hops = 0; hops < 8 && nh != IPPROTO_TCP_; hops++) {
        if (nh != 0 && nh != 43 && nh != 60)   /* hop-by-hop, routing, destination options */
            return 0;
        if (off + 8 > n)
            return 0;
        size_t el = ((size_t)p[off + 1] + 1) * 8;
        nh = p[off];
        off += el;
    }
    if (nh != IPPROTO_TCP_ || off > n)
        return 0;
    memset(&seg->src, 0, sizeof seg->src);
    memset(&seg->dst, 0, sizeof seg->dst);
    seg->src.family = seg->dst.family = 6;
    memcpy(seg->src.ip, p + 8, 16);
    memcpy(seg->dst.ip, p + 24, 16);
    return parse_tcp(p + off, n - off, wire - off, seg);
}

static int parse_ip(const uint8_t *p, size_t n, struct yd_segment *seg)
{
    if (n < 1)
        return 0;
    if ((p[0] >> 4) == 4)
        return parse_ipv4(p, n, seg);
    if ((p[0] >> 4) == 6)
        return parse_ipv6(p, n, seg);
    return 0;
}

static int parse_ethertype(unsigned type, const uint8_t *p, size_t n, struct yd_segment *seg)
{
    if (type == ETHERTYPE_IPV4)
        return parse_ipv4(p, n, seg);
    if (type == ETHERTYPE_IPV6)
        return parse_ipv6(p, n, seg);
    return 0;
}

/* BSD loopback address families: AF_INET is 2 everywhere, AF_INET6 differs by OS. */
static int parse_af(uint32_t af, const uint8_t *p, size_t n, struct yd_segment *seg)
{
    if (af == 2)
        return parse_ipv4(p, n, seg);
    if (af == 10 || af == 24 || af == 28 || af == 30)
        return parse_ipv6(p, n, seg);
    return 0;
}

int yd_parse_frame(int dlt, const uint8_t *f, size_t n, struct yd_segment *seg)
{
    switch (dlt) {
    case DLT_EN10MB: {
        if (n < 14)
            return 0;
        size_t off = 12;
        unsigned type = be16(f + off);
        for (int tags = 0; (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ) && tags < 2; tags++) {
            off += 4;
            if (off + 2 > n)
                return 0;
            type = be16(f + off);
        }
        off += 2;
        return parse_ethertype(type, f + off, n - off, seg);
    }
    case DLT_NULL:
        if (n < 4)
            return 0;
        /* Host byte order of the capturing machine: accept either. */
        return parse_af(f[0] | (uint32_t)f[1] << 8 | (uint32_t)f[2] << 16 | (uint32_t)f[3] << 24,
                        f + 4, n - 4, seg) ||
               parse_af(be32(f), f + 4, n - 4, seg);
    case DLT_LOOP:
        if (n < 4)
            return 0;
        return parse_af(be32(f), f + 4, n - 4, seg);
    case DLT_LINUX_SLL:
        if (n < 16)
            return 0;
        return parse_ethertype(be16(f + 14), f + 16, n - 16, seg);
    case DLT_LINUX_SLL2:
        if (n < 20)
            return 0;
        return parse_ethertype(be16(f), f + 20, n - 20, seg);
    case DLT_IPV4:
        return parse_ipv4(f, n, seg);
    case DLT_IPV6:
        return parse_ipv6(f, n, seg);
    default:
        if (dlt == 12 || dlt == 14 || dlt == DLT_RAW)
            return parse_ip(f, n, seg);
        return 0;
    }
}

void yd_endpoint_str(const struct yd_endpoint *ep, char *out, size_t cap)
{
    char a[INET6_ADDRSTRLEN];
    if (ep->family == 6) {
        inet_ntop(AF_INET6, ep->ip, a, sizeof a);
        snprintf(out, cap, "[%s]:%u", a, ep->port);
    } else {
        inet_ntop(AF_INET, ep->ip, a, sizeof a);
        snprintf(out, cap, "%s:%u", a, ep->port);
    }
}
