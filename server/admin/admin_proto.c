/* Control socket request decoding; see admin_proto.h. */
#define _POSIX_C_SOURCE 200809L /* strtok_r when compiled into the fuzz harness on its own */
#include "admin_proto.h"

#include <string.h>

int admin_split(char *line, char **argv, int max)
{
    char *save = NULL;
    int argc = 0;
    for (char *w = strtok_r(line, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
        if (argc == max) return -1;
        argv[argc++] = w;
    }
    return argc;
}

char *admin_rest(char *line, const char *name)
{
    size_t lead = strspn(line, " \t\r"), wl = strcspn(line + lead, " \t\r");
    if (wl != strlen(name) || strncmp(line + lead, name, wl) != 0) return NULL;
    char *text = line + lead + wl;
    if (*text == ' ' || *text == '\t') text++;
    text[strcspn(text, "\r")] = 0;
    return text;
}

int admin_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p, need, min;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) need = 1, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF) need = 2, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4) need = 3, min = 0x10000;
        else return 0;
        unsigned cp = c & (0x3Fu >> need);
        for (unsigned i = 1; i <= need; i++) {
            if ((p[i] & 0xC0) != 0x80) return 0; /* also stops at the NUL */
            cp = (cp << 6) | (p[i] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        p += need + 1;
    }
    return 1;
}
