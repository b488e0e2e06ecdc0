/* /crossdomain.xml of the AMF gateway: the policy document built once from the config; see gateway.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------------------------------------------
 * crossdomain.xml
 * ---------------------------------------------------------------------------------------------- */

/* Domain patterns as Flash accepts them: "*", "host.name", "*.suffix", optionally with ":port",
 * or an IP address.  Anything else (quotes, angle brackets, spaces) is refused, so the config can
 * never inject markup into the policy. */
static int domain_ok(const char *d, size_t n)
{
    if (n == 0 || n > 253) return 0;
    if (n == 1 && d[0] == '*') return 1;
    size_t i = 0;
    if (n > 2 && d[0] == '*' && d[1] == '.') i = 2;
    for (; i < n; i++) {
        unsigned char ch = (unsigned char)d[i];
        if (!(isalnum(ch) || ch == '.' || ch == '-' || ch == ':' || ch == '[' || ch == ']')) return 0;
    }
    return 1;
}

int gw_crossdomain_build(struct gateway *gw, char *err, size_t errlen)
{
    static const char head[] = "<?xml version=\"1.0\"?>\n"
                               "<!DOCTYPE cross-domain-policy SYSTEM "
                               "\"http://www.adobe.com/xml/dtds/cross-domain-policy.dtd\">\n"
                               "<cross-domain-policy>\n"
                               "  <site-control permitted-cross-domain-policies=\"master-only\"/>\n";
    static const char tail[] = "</cross-domain-policy>\n";
    const char *list = gw->crossdomain_domains;
    size_t cap = sizeof head + sizeof tail + 1, used = 0;
    /* Upper bound: every domain costs its length plus the element around it. */
    cap += strlen(list) * 2 + 64 * (strlen(list) / 1 + 1);
    char *x = malloc(cap);
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    used += (size_t)snprintf(x, cap, "%s", head);
    const char *p = list;
    while (*p) {
        size_t skip = strspn(p, ", \t");
        p += skip;
        size_t n = strcspn(p, ", \t");
        if (!n) break;
        if (!domain_ok(p, n)) {
            snprintf(err, errlen, "crossdomain: domain \"%.*s\" is not a host name, \"*\" or \"*.suffix\"",
                     (int)(n > 64 ? 64 : n), p);
            free(x);
            return -1;
        }
        used += (size_t)snprintf(x + used, cap - used, "  <allow-access-from domain=\"%.*s\"%s/>\n", (int)n, p,
                                 gw->cfg.crossdomain_secure ? "" : " secure=\"false\"");
        p += n;
    }
    used += (size_t)snprintf(x + used, cap - used, "%s", tail);
    gw->crossdomain_xml = x;
    gw->crossdomain_len = used;
    return 0;
}

const char *gateway_crossdomain(const struct gateway *gw, size_t *len)
{
    *len = gw->crossdomain_len;
    return gw->crossdomain_xml;
}

int gateway_crossdomain_check(const char *domains, char *err, size_t errlen)
{
    for (const char *p = domains ? domains : ""; *p;) {
        p += strspn(p, ", \t");
        size_t n = strcspn(p, ", \t");
        if (!n) break;
        if (!domain_ok(p, n)) {
            snprintf(err, errlen, "amf_crossdomain: domain \"%.*s\" is not a host name, \"*\" or \"*.suffix\"",
                     (int)(n > 64 ? 64 : n), p);
            return -1;
        }
        p += n;
    }
    return 0;
}

int gateway_set_crossdomain(struct gateway *gw, const char *domains, int secure, char *err, size_t errlen)
{
    char *old_domains = gw->crossdomain_domains, *old_xml = gw->crossdomain_xml;
    size_t old_len = gw->crossdomain_len;
    int old_secure = gw->cfg.crossdomain_secure;
    char *dup = strdup(domains ? domains : "");
    if (!dup) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    gw->crossdomain_domains = dup;
    gw->cfg.crossdomain = dup;
    gw->cfg.crossdomain_secure = secure;
    if (gw_crossdomain_build(gw, err, errlen) < 0) { /* the document in use stays */
        free(dup);
        gw->crossdomain_domains = old_domains;
        gw->cfg.crossdomain = old_domains;
        gw->cfg.crossdomain_secure = old_secure;
        gw->crossdomain_xml = old_xml;
        gw->crossdomain_len = old_len;
        return -1;
    }
    free(old_domains);
    free(old_xml);
    return 0;
}
