/* The cluster's settings as text; see address.h. */
#include "address.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "wire.h"

int cluster_node_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > WIRE_NODE_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~') return 0;
    return 1;
}

int cluster_addr_parse(const char *url, struct cluster_addr *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    const char *path = !strncmp(url, "unix://", 7) ? url + 7 : !strncmp(url, "unix:", 5) ? url + 5 : url[0] == '/' ? url : NULL;
    if (path) {
        if (!path[0] || strlen(path) >= sizeof a->path) goto bad;
        snprintf(a->path, sizeof a->path, "%s", path);
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0) goto bad;
    char hp[300];
    snprintf(hp, sizeof hp, "%s", url + 8);
    size_t n = strlen(hp);
    if (n && hp[n - 1] == '/') hp[--n] = 0;
    if (!strchr(hp, ':')) {
        if (!hp[0] || n >= sizeof a->host) goto bad;
        snprintf(a->host, sizeof a->host, "%s", hp);
        a->port = 6379;
        return 0;
    }
    if (config_split_hostport(hp, a->host, sizeof a->host, &a->port) < 0 || !a->host[0] || a->port <= 0) goto bad;
    return 0;
bad:
    memset(a, 0, sizeof *a);
    snprintf(err, errlen, "redis: expected redis://HOST:PORT or unix:PATH, got \"%s\"", url);
    return -1;
}
