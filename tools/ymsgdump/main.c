/* ymsgdump: print every YMSG packet in a pcap/pcapng capture or a raw YMSG byte stream. */
#include "ymsgdump.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *to)
{
    fputs("usage: ymsgdump [--json] [--raw] [--no-color] [--http] [--max-streams N]\n"
          "                [--max-buffer BYTES] [--max-body BYTES] [FILE|-]   |   ymsgdump --version\n"
          "Prints every YMSG packet of a pcap/pcapng capture (TCP streams reassembled, YMSG found by\n"
          "its magic on any port) or of a raw YMSG byte stream.  FILE defaults to standard input.\n"
          "  --json            one JSON object per packet\n"
          "  --raw             the input is a raw YMSG stream even if it looks like a capture\n"
          "  --no-color        no ANSI colours (default: colours when stdout is a terminal)\n"
          "  --http            also print the first line of HTTP requests and responses\n"
          "  --max-streams N   TCP connections tracked at once (default 4096)\n"
          "  --max-buffer N    out-of-order bytes held per direction (default 1048576)\n"
          "  --max-body N      largest YMSG body accepted (default and maximum 65535)\n"
          "Exit status: 0 all decoded, 1 some YMSG data malformed, truncated or missing,\n"
          "2 unreadable input or usage error.\n", to);
}

/* A positive size with an optional k/m suffix; 0 on error. */
static size_t parse_size(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return 0;
    if (*end == 'k' || *end == 'K') {
        v *= 1024;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        v *= 1024 * 1024;
        end++;
    }
    if (*end || v == 0 || v > ((size_t)1 << 40))
        return 0;
    return (size_t)v;
}

int main(int argc, char **argv)
{
    struct yd_options o;
    yd_options_default(&o);
    int no_color = 0;
    enum { OPT_NOCOLOR = 256, OPT_HTTP, OPT_STREAMS, OPT_BUFFER, OPT_BODY };
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"raw", no_argument, NULL, 'r'},
        {"no-color", no_argument, NULL, OPT_NOCOLOR},
        {"http", no_argument, NULL, OPT_HTTP},
        {"max-streams", required_argument, NULL, OPT_STREAMS},
        {"max-buffer", required_argument, NULL, OPT_BUFFER},
        {"max-body", required_argument, NULL, OPT_BODY},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "jrh", opts, NULL)) != -1) {
        size_t v = 0;
        switch (ch) {
        case 'j': o.json = 1; break;
        case 'r': o.raw = 1; break;
        case OPT_NOCOLOR: no_color = 1; break;
        case OPT_HTTP: o.http = 1; break;
        case OPT_STREAMS: case OPT_BUFFER: case OPT_BODY:
            v = parse_size(optarg);
            if (!v || (ch == OPT_BODY && v > 65535)) {
                fprintf(stderr, "ymsgdump: bad value for --%s: %s\n",
                        ch == OPT_STREAMS ? "max-streams" : ch == OPT_BUFFER ? "max-buffer" : "max-body",
                        optarg);
                return YD_EXIT_INPUT;
            }
            if (ch == OPT_STREAMS)
                o.max_streams = v;
            else if (ch == OPT_BUFFER)
                o.max_buffer = v;
            else
                o.max_body = v;
            break;
        case 'h': usage(stdout); return YD_EXIT_OK;
        case 'V': printf("ymsgdump %s\n", YMSG_PACKAGE_VERSION); return YD_EXIT_OK;
        default: usage(stderr); return YD_EXIT_INPUT;
        }
    }
    if (argc - optind > 1) {
        usage(stderr);
        return YD_EXIT_INPUT;
    }
    const char *path = optind < argc ? argv[optind] : "-";
    o.color = !no_color && !o.json && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    FILE *in = stdin;
    const char *name = "<stdin>";
    if (strcmp(path, "-") != 0) {
        in = fopen(path, "rb");
        if (!in) {
            fprintf(stderr, "ymsgdump: %s: %s\n", path, strerror(errno));
            return YD_EXIT_INPUT;
        }
        name = path;
    }
    int rc = yd_dump(in, name, stdout, stderr, &o);
    if (in != stdin)
        fclose(in);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "ymsgdump: write error: %s\n", strerror(errno));
        return YD_EXIT_INPUT;
    }
    return rc;
}
