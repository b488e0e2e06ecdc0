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
