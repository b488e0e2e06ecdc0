/* libFuzzer harness: AMF3 decoder, then encode + decode + deep equality (sharing and cycles kept). */
#include "fuzz_amf_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_roundtrip(data, size, AMF_AMF3);
    return 0;
}
