/*
 * spin.c: a WASI command that never returns: it prints one line, then spins on a volatile
 * counter, which the compiler cannot remove. Only its job's cap stops it: the fuel allowance
 * under wasmtime, the sandbox's timeout under wasmer (examples/wasmer/).
 */
#include <stdio.h>

static volatile unsigned long long spins;

int main(void)
{
    puts("spin: started");
    fflush(stdout);
    for (;;)
        spins++;
}
