/*
 * big.c: a WASI command as large as the seed's hello.wasm (1.4 MB, most of it DWARF there; a
 * data segment here). Prints its payload's size and a checksum, so that a deploy of 1.4 MB can
 * be timed against a control loop (examples/deploy/).
 */
#include <stdio.h>

#define PAYLOAD 1400000

/* not all zero, so that the data segment is really in the module */
static const unsigned char payload[PAYLOAD] = {[0] = 1, [PAYLOAD / 2] = 2, [PAYLOAD - 1] = 3};

int main(void)
{
    unsigned sum = 0;
    for (unsigned i = 0; i < PAYLOAD; i += 4096)
        sum += payload[i];
    sum += payload[PAYLOAD / 2] + payload[PAYLOAD - 1];
    printf("%d bytes of payload, checksum %u\n", PAYLOAD, sum);
    return 0;
}
