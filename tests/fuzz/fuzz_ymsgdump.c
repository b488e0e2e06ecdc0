/* libFuzzer harness for ymsgdump's input path: format detection, libpcap reading from memory, frame
 * parsing, TCP reassembly and the per-stream YMSG decoder, in text and JSON modes.  The second pass
 * uses tiny limits so that eviction and the out-of-order bound are exercised too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ymsgdump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    if (!sink || size == 0)
        return 0;
    for (int pass = 0; pass < 2; pass++) {
        FILE *in = fmemopen((void *)data, size, "rb");
        if (!in)
            return 0;
        struct yd_options o;
        yd_options_default(&o);
        o.http = 1;
        if (pass == 1) {
            o.json = 1;
            o.max_streams = 2;
            o.max_buffer = 64;
            o.max_body = 256;
        }
        int rc = yd_dump(in, "fuzz", sink, sink, &o);
        fclose(in);
        if (rc < YD_EXIT_OK || rc > YD_EXIT_INPUT)
            abort();    /* the exit status is documented to be 0, 1 or 2 */
    }
    return 0;
}
