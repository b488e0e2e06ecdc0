/* A thin command-line front to the auth primitives, so that test_auth_independent.py can compare them
 * against values it computes itself (hashlib, base64 and its own md5crypt).  Reads lines of
 * "CMD HEXARG..." on stdin and prints one result line per command:
 *   y64enc HEX            -> Y64 text            y64dec TEXTHEX  -> hex or "ERR <code>"
 *   auth16 CRUMB CHAL     -> 24-char response
 *   method0 USER PASS CHAL-> "resp6 resp96"      hashes PASS     -> "p c"
 *   streq A B             -> 1 or 0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ymsg/ymsg.h"

static size_t unhex_arg(const char *h, char *out, size_t cap)
{
    size_t n = 0;
    for (; h[0] && h[1] && n + 1 < cap; h += 2) {
        unsigned v;
        if (sscanf(h, "%2x", &v) != 1)
            break;
        out[n++] = (char)v;
    }
    out[n] = '\0';
    return n;
}

int main(void)
{
    char line[8192];
    while (fgets(line, sizeof line, stdin)) {
        char *save = NULL, *cmd = strtok_r(line, " \n", &save);
        char args[4][2048];
        size_t alen[4] = {0};
        int na = 0;
        for (char *t; na < 4 && (t = strtok_r(NULL, " \n", &save));)
            alen[na] = unhex_arg(strcmp(t, "-") ? t : "", args[na], sizeof args[na]), na++;
        if (!cmd)
            continue;
        if (!strcmp(cmd, "y64enc") && na == 1) {
            char out[4096];
            ssize_t r = ymsg_y64_encode((const uint8_t *)args[0], alen[0], out, sizeof out);
            if (r < 0)
                printf("ERR %zd\n", r);
            else
                printf("%s\n", out);
        } else if (!strcmp(cmd, "y64dec") && na == 1) {
            uint8_t out[4096];
            ssize_t r = ymsg_y64_decode(args[0], alen[0], out, sizeof out);
            if (r < 0) {
                printf("ERR %zd\n", r);
            } else {
                for (ssize_t i = 0; i < r; i++)
                    printf("%02x", out[i]);
                printf("\n");
            }
        } else if (!strcmp(cmd, "auth16") && na == 2) {
            char out[25];
            int r = ymsg_auth16_response(args[0], args[1], out);
            printf("%s\n", r ? "ERR" : out);
        } else if (!strcmp(cmd, "method0") && na == 3) {
            char r6[25], r96[25];
            int r = ymsg_auth_method0(args[0], args[1], args[2], r6, r96);
            if (r)
                printf("ERR %d\n", r);
            else
                printf("%s %s\n", r6, r96);
        } else if (!strcmp(cmd, "hashes") && na == 1) {
            char p[25], c[25];
            int r = ymsg_auth_method0_hashes(args[0], p, c);
            if (r)
                printf("ERR %d\n", r);
            else
                printf("%s %s\n", p, c);
        } else if (!strcmp(cmd, "streq") && na == 2) {
            printf("%d\n", ymsg_ct_streq(args[0], args[1]));
        } else {
            printf("ERR usage\n");
        }
        fflush(stdout);
    }
    return 0;
}
