/* libFuzzer harness: AMF0 decoder (with AMF3 behind 0x11), then encode + decode + deep equality. */
#include "fuzz_amf_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_roundtrip(data, size, AMF_AMF0);
    return 0;
}
